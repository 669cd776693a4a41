/**
 * The servers under test, each a child process of its own (so that its peak RSS is its own): Coffer (the real
 * CLI, on a fresh data directory), Coffer with the pool off, s3rver 3.7.1 (on its own temp directory) and the
 * ceiling. Every process and temp directory is registered for {@link cleanup}, which the runner also calls on
 * Ctrl-C.
 */
import { spawn, spawnSync, type ChildProcess } from 'node:child_process';
import { randomBytes } from 'node:crypto';
import { mkdtemp, readFile, rm, writeFile } from 'node:fs/promises';
import { createRequire } from 'node:module';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { fileURLToPath } from 'node:url';

import type { RunningCeph } from '../../tools/test-services/ceph.ts';

/** The repository root (benchmarks/src/../..). */
export const ROOT = path.resolve(path.dirname(fileURLToPath(import.meta.url)), '..', '..');
const CLI = path.join(ROOT, 'packages', 'server', 'src', 'cli.ts');
const CEILING = path.join(ROOT, 'benchmarks', 'src', 'ceiling-server.ts');

/** Which server. */
export type ServerKind =
  | 'coffer'
  | 'coffer-pool'
  | 'coffer-inline'
  | 'coffer-pg'
  | 'coffer-pg2'
  | 'coffer-ceph'
  | 'coffer-ceph2'
  | 'radosgw'
  | 's3rver'
  | 'ceiling';

/** The kinds that are Coffer. */
export type CofferKind = Exclude<ServerKind, 'radosgw' | 's3rver' | 'ceiling'>;

/** The kinds that need a Ceph (radosgw): they run only when `--servers` names them. */
export const CEPH_KINDS: readonly ServerKind[] = ['radosgw', 'coffer-ceph', 'coffer-ceph2'];

/** Display names. */
export const SERVER_NAMES: Record<ServerKind, string> = {
  coffer: 'Coffer',
  'coffer-pool': 'Coffer (pool on)',
  'coffer-inline': 'Coffer (pool off)',
  'coffer-pg': 'Coffer on PostgreSQL',
  'coffer-pg2': 'Coffer on PostgreSQL, 2 nodes',
  'coffer-ceph': 'Coffer on Ceph',
  'coffer-ceph2': 'Coffer on Ceph, 2 nodes',
  radosgw: 'radosgw (Ceph)',
  s3rver: 's3rver 3.7.1',
  ceiling: 'ceiling',
};

/** A running server. */
export interface RunningServer {
  kind: ServerKind;
  /** Base URL, e.g. http://127.0.0.1:PORT */
  url: string;
  pid: number;
  accessKeyId: string;
  secretAccessKey: string;
  /** Its temp directory, if any. */
  dir?: string;
  /** Stops the process (SIGTERM, then SIGKILL) and removes its directory. */
  stop(): Promise<void>;
}

const children = new Set<ChildProcess>();
const dirs = new Set<string>();

/** Kills every child still running and removes every temp directory. Safe to call more than once. */
export async function cleanup(): Promise<void> {
  await Promise.all([...children].map((c) => killChild(c)));
  await Promise.all([...dirs].map((d) => rm(d, { recursive: true, force: true }).catch(() => undefined)));
  dirs.clear();
}

/** The same, synchronously, for a process that is exiting. */
export function cleanupSync(): void {
  for (const c of children) {
    try {
      c.kill('SIGKILL');
    } catch {
      /* already gone */
    }
  }
  for (const d of dirs) spawnSync('rm', ['-rf', d]);
}

function killChild(c: ChildProcess): Promise<void> {
  if (c.exitCode !== null || c.signalCode !== null) {
    children.delete(c);
    return Promise.resolve();
  }
  return new Promise((resolve) => {
    const t = setTimeout(() => c.kill('SIGKILL'), 5000);
    c.once('exit', () => {
      clearTimeout(t);
      children.delete(c);
      resolve();
    });
    c.kill('SIGTERM');
  });
}

async function tempDir(prefix: string): Promise<string> {
  const d = await mkdtemp(path.join(tmpdir(), prefix));
  dirs.add(d);
  return d;
}

/** Spawns `args`, waits for a stdout line matching `ready` (its first group is the URL). */
function startProcess(
  cmd: string,
  args: string[],
  env: NodeJS.ProcessEnv,
  ready: RegExp,
  timeoutMs = 30_000,
): Promise<{ child: ChildProcess; url: string }> {
  const child = spawn(cmd, args, { cwd: ROOT, env, stdio: ['ignore', 'pipe', 'pipe'] });
  children.add(child);
  child.once('exit', () => children.delete(child));
  return new Promise((resolve, reject) => {
    let out = '';
    let err = '';
    const fail = (why: string) => {
      clearTimeout(timer);
      child.kill('SIGKILL');
      reject(new Error(`${path.basename(args[args.length - 1] ?? cmd)}: ${why}\n${err.slice(-2000)}`));
    };
    const timer = setTimeout(() => fail('did not start in time'), timeoutMs);
    child.stderr!.on('data', (d: Buffer) => {
      if (err.length < 100_000) err += d.toString();
    });
    child.stdout!.on('data', (d: Buffer) => {
      out += d.toString();
      const m = ready.exec(out);
      if (m) {
        clearTimeout(timer);
        child.stdout!.removeAllListeners('data');
        child.stdout!.resume();
        resolve({ child, url: m[1]! });
      }
    });
    child.once('exit', (code, signal) => fail(`exited (${code ?? signal}) before it was ready`));
  });
}

function running(
  kind: ServerKind,
  child: ChildProcess,
  url: string,
  keys: [string, string],
  dir?: string,
): RunningServer {
  return {
    kind,
    url,
    pid: child.pid!,
    accessKeyId: keys[0],
    secretAccessKey: keys[1],
    dir,
    async stop() {
      await killChild(child);
      if (dir) {
        await rm(dir, { recursive: true, force: true }).catch(() => undefined);
        dirs.delete(dir);
      }
    },
  };
}

let flagCache: number | null | undefined;
/** True when this Coffer build has `serve --crypto-threads`. */
export function cofferHasCryptoThreads(): boolean {
  return cofferDefaultCryptoThreads() !== undefined;
}

/** The `--crypto-threads` default of this Coffer build on this machine (from `serve --help`), if it has the flag. */
export function cofferDefaultCryptoThreads(): number | undefined {
  if (flagCache === undefined) {
    const r = spawnSync(process.execPath, ['--import', 'tsx', CLI, 'serve', '--help'], { cwd: ROOT, encoding: 'utf8' });
    const m = /--crypto-threads[\s\S]*?\(default: (\d+)\)/.exec(r.stdout ?? '');
    flagCache = m ? Number(m[1]) : null;
  }
  return flagCache ?? undefined;
}

/** Where a Coffer node keeps its chunks when not in its data directory: a bucket on an S3 endpoint (radosgw). */
export interface ChunkBackend {
  endpoint: string;
  bucket: string;
  accessKey: string;
  secretKey: string;
}

/** Starts Coffer on a fresh data directory; `cryptoThreads` 0 = inline, undefined = its default. */
export async function startCoffer(kind: CofferKind, cryptoThreads?: number): Promise<RunningServer> {
  return (await startCofferNodes(kind, 1, undefined, { cryptoThreads }))[0]!;
}

/**
 * Starts `n` Coffer processes on one fresh data directory (the chunk files they share, and the key that wraps the
 * master key ring), one metadata location and one root key pair: with `meta` a postgres:// URL they serve one
 * namespace, as several nodes would. The first one creates the schema and the root user before the others start.
 * `chunks` puts the chunks in a bucket of an S3 endpoint instead of the data directory.
 */
export async function startCofferNodes(
  kind: CofferKind,
  n: number,
  meta?: string,
  more: { cryptoThreads?: number; chunks?: ChunkBackend } = {},
): Promise<RunningServer[]> {
  const dir = await tempDir('coffer-bench-');
  const keys: [string, string] = ['BENCHACCESSKEY', randomBytes(20).toString('hex')];
  const args = ['--import', 'tsx', CLI, 'serve', '--data', dir, '--listen', '127.0.0.1:0', '--log-level', 'warn'];
  if (more.cryptoThreads !== undefined && cofferHasCryptoThreads())
    args.push('--crypto-threads', String(more.cryptoThreads));
  if (meta !== undefined) args.push('--meta', meta);
  const env: NodeJS.ProcessEnv = { ...process.env, COFFER_ACCESS_KEY: keys[0], COFFER_SECRET_KEY: keys[1] };
  if (more.chunks) {
    // Replaced data is freed at once: no other node streams it here, and the memstore OSD holds everything in RAM.
    args.push('--chunks', `s3://${more.chunks.bucket}/bench`, '--chunks-endpoint', more.chunks.endpoint);
    args.push('--garbage-delay', '0');
    env.COFFER_CHUNKS_ACCESS_KEY = more.chunks.accessKey;
    env.COFFER_CHUNKS_SECRET_KEY = more.chunks.secretKey;
  }
  const nodes: RunningServer[] = [];
  for (let i = 0; i < n; i++) {
    const { child, url } = await startProcess(process.execPath, args, env, /coffer listening on (http:\/\/\S+)/);
    nodes.push(running(kind, child, url, keys, dir));
  }
  return nodes;
}

/** radosgw served directly (the baseline of Coffer on Ceph): its endpoint and S3 user; stopping it is the Ceph's. */
export function radosgwServer(ceph: Pick<RunningCeph, 'endpoint' | 'accessKey' | 'secretKey' | 'pids'>) {
  const server: RunningServer = {
    kind: 'radosgw',
    url: ceph.endpoint,
    pid: ceph.pids().rgw ?? 0,
    accessKeyId: ceph.accessKey,
    secretAccessKey: ceph.secretKey,
    stop: async () => undefined,
  };
  return server;
}

/** Starts s3rver 3.7.1 (its own CLI, silent) on a fresh directory. */
export async function startS3rver(): Promise<RunningServer> {
  const dir = await tempDir('s3rver-bench-');
  const require = createRequire(path.join(ROOT, 'benchmarks', 'package.json'));
  const bin = path.join(path.dirname(require.resolve('s3rver/package.json')), 'bin', 's3rver.js');
  const { child, url } = await startProcess(
    process.execPath,
    [bin, '-d', dir, '-a', '127.0.0.1', '-p', '0', '-s', '--no-vhost-buckets'],
    process.env,
    /S3rver listening on (\S+:\d+)/,
  );
  return running('s3rver', child, `http://${url}`, ['S3RVER', 'S3RVER'], dir);
}

/** Starts the ceiling server. */
export async function startCeiling(): Promise<RunningServer> {
  const { child, url } = await startProcess(
    process.execPath,
    ['--import', 'tsx', CEILING],
    process.env,
    /ceiling listening on (http:\/\/\S+)/,
  );
  return running('ceiling', child, url, ['CEILING', 'CEILING']);
}

/**
 * Peak-RSS meter for one process: resets the kernel's high-water mark (clear_refs 5) when started, samples VmRSS
 * every `everyMs` meanwhile, and at stop returns the larger of the sampled maximum and VmHWM, in bytes.
 */
export class RssMeter {
  readonly #pid: number;
  #max = 0;
  #timer: NodeJS.Timeout | undefined;

  constructor(pid: number) {
    this.#pid = pid;
  }

  async start(everyMs = 25): Promise<void> {
    await writeFile(`/proc/${this.#pid}/clear_refs`, '5').catch(() => undefined);
    this.#max = 0;
    this.#timer = setInterval(() => void this.#sample('VmRSS'), everyMs);
    await this.#sample('VmRSS');
  }

  async stop(): Promise<number> {
    clearInterval(this.#timer);
    await this.#sample('VmRSS');
    await this.#sample('VmHWM');
    return this.#max;
  }

  async #sample(field: string): Promise<void> {
    try {
      const s = await readFile(`/proc/${this.#pid}/status`, 'utf8');
      const m = new RegExp(`^${field}:\\s+(\\d+) kB`, 'm').exec(s);
      if (m) this.#max = Math.max(this.#max, Number(m[1]) * 1024);
    } catch {
      /* process gone */
    }
  }
}
