/**
 * End-to-end harness: starts the real `coffer serve` process on a free loopback port and stops it again.
 *
 * The server is spawned as `node --import tsx packages/server/src/cli.ts serve …`, which is what the `coffer`
 * executable the README runs does in one process (`command` starts it another way), with its root keys in
 * COFFER_ACCESS_KEY / COFFER_SECRET_KEY and COFFER_MASTER_KEY unset, so that it generates its key ring under
 * DATA/keys. Readiness is the one stdout line `coffer listening on http://127.0.0.1:PORT`.
 */
import { spawn, type ChildProcess } from 'node:child_process';
import { randomBytes } from 'node:crypto';
import { mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join, resolve } from 'node:path';

/** Root of the pnpm workspace (…/packages/server/test/helpers → four levels up). */
export const REPO_ROOT = resolve(import.meta.dirname, '..', '..', '..', '..');

/** The server's command-line entry. */
export const CLI_PATH = join(REPO_ROOT, 'packages', 'server', 'src', 'cli.ts');

/** The `coffer` executable that `pnpm install` links at the root (packages/server's `bin`), as the README runs it. */
export const COFFER_BIN = join(REPO_ROOT, 'node_modules', '.bin', 'coffer');

/** The region the server signs for. */
export const REGION = 'us-east-1';

const LISTEN_LINE = /coffer listening on (https?:\/\/127\.0\.0\.1:(\d+))/;

/** Options of {@link startServer}. */
export interface StartServerOptions {
  /** Extra environment; a value of `undefined` removes the variable from the child's environment. */
  env?: Record<string, string | undefined>;
  /** Extra arguments appended after `serve --data DIR --listen 127.0.0.1:0`. */
  args?: string[];
  /**
   * The program and its first arguments, which `--data DIR --listen 127.0.0.1:0` follow: by default
   * `node --import tsx packages/server/src/cli.ts serve`; the README's ways are `['pnpm', 'start']` and
   * `[COFFER_BIN, 'serve']`.
   */
  command?: readonly string[];
  /** Reuse this data directory (for restarts) instead of making a fresh one. */
  dataDir?: string;
  /** Root access key; a random one by default. Ignored when `env` sets COFFER_ACCESS_KEY (even to undefined). */
  accessKey?: string;
  /** Root secret key; a random one by default. Ignored when `env` sets COFFER_SECRET_KEY (even to undefined). */
  secretKey?: string;
  /** How long to wait for the listening line, in ms (default 20 000). */
  readyTimeoutMs?: number;
  /** Send the server's stderr (its log) to this file descriptor instead of a pipe; `stderr()` is then empty. */
  stderrFd?: number;
}

/** A running server process. */
export interface RunningServer {
  /** `http://127.0.0.1:PORT`, no trailing slash. */
  url: string;
  port: number;
  dataDir: string;
  accessKey: string;
  secretKey: string;
  pid: number;
  /** Everything the process wrote to stdout so far. */
  stdout(): string;
  /** Everything the process wrote to stderr so far. */
  stderr(): string;
  /** Resolves with the exit code and signal once the process has exited. */
  exited: Promise<{ code: number | null; signal: NodeJS.Signals | null }>;
  /**
   * SIGTERM, wait for exit (SIGKILL after `killAfterMs`, default 5 s); with `removeDir` also deletes the data dir.
   * Safe to call twice.
   */
  stop(opts?: {
    removeDir?: boolean;
    killAfterMs?: number;
  }): Promise<{ code: number | null; signal: NodeJS.Signals | null }>;
}

/** Random root credentials in the usual AWS shape. */
export function randomCredentials(): { accessKey: string; secretKey: string } {
  return {
    accessKey: 'AKCOFFER' + randomBytes(6).toString('hex').toUpperCase(),
    secretKey: randomBytes(30).toString('base64').replace(/[+/=]/g, 'x'),
  };
}

/** Makes a fresh temporary directory (under os.tmpdir()) for a data dir or client configs. */
export function makeTempDir(prefix = 'coffer-e2e-'): Promise<string> {
  return mkdtemp(join(tmpdir(), prefix));
}

/** Child environment: the parent's, without AWS_* / COFFER_* variables that would leak into the test, plus `extra`. */
export function childEnv(extra: Record<string, string | undefined> = {}): NodeJS.ProcessEnv {
  const env: NodeJS.ProcessEnv = {};
  for (const [k, v] of Object.entries(process.env)) {
    if (k.startsWith('AWS_') || k.startsWith('COFFER_')) continue;
    // the node test runner marks its children; the server must not think it is a test file
    if (k === 'NODE_TEST_CONTEXT') continue;
    env[k] = v;
  }
  for (const [k, v] of Object.entries(extra)) {
    if (v === undefined) delete env[k];
    else env[k] = v;
  }
  return env;
}

/** Starts `coffer serve` and resolves once it listens. */
export async function startServer(opts: StartServerOptions = {}): Promise<RunningServer> {
  const dataDir = opts.dataDir ?? (await makeTempDir());
  const creds = randomCredentials();
  const accessKey = opts.accessKey ?? creds.accessKey;
  const secretKey = opts.secretKey ?? creds.secretKey;
  const env = childEnv({
    COFFER_ACCESS_KEY: accessKey,
    COFFER_SECRET_KEY: secretKey,
    COFFER_MASTER_KEY: undefined,
    ...opts.env,
  });
  const [program, ...leading] = opts.command ?? [process.execPath, '--import', 'tsx', CLI_PATH, 'serve'];
  const args = [...leading, '--data', dataDir, '--listen', '127.0.0.1:0', ...(opts.args ?? [])];
  const stdio: ['ignore', 'pipe', 'pipe' | number] = ['ignore', 'pipe', opts.stderrFd ?? 'pipe'];
  const child = spawn(program!, args, { cwd: REPO_ROOT, env, stdio });

  let out = '';
  let err = '';
  child.stdout!.setEncoding('utf8');
  child.stderr?.setEncoding('utf8');
  child.stderr?.on('data', (s: string) => {
    err += s;
  });
  const exited = new Promise<{ code: number | null; signal: NodeJS.Signals | null }>((res) => {
    child.once('exit', (code, signal) => res({ code, signal }));
  });

  const timeoutMs = opts.readyTimeoutMs ?? 20_000;
  const url = await new Promise<string>((res, rej) => {
    const timer = setTimeout(() => {
      child.kill('SIGKILL');
      rej(
        new Error(
          `server did not print its listening line within ${timeoutMs} ms\n--- stdout ---\n${out}\n--- stderr ---\n${err}`,
        ),
      );
    }, timeoutMs);
    child.stdout!.on('data', (s: string) => {
      out += s;
      const m = LISTEN_LINE.exec(out);
      if (m) {
        clearTimeout(timer);
        res(m[1]!);
      }
    });
    child.once('error', (e) => {
      clearTimeout(timer);
      rej(e);
    });
    void exited.then(({ code, signal }) => {
      clearTimeout(timer);
      rej(
        new Error(
          `server exited (code ${code}, signal ${signal}) before listening\n--- stdout ---\n${out}\n--- stderr ---\n${err}`,
        ),
      );
    });
  });

  let stopping: Promise<{ code: number | null; signal: NodeJS.Signals | null }> | undefined;
  const server: RunningServer = {
    url,
    port: Number(new URL(url).port),
    dataDir,
    accessKey,
    secretKey,
    pid: child.pid!,
    stdout: () => out,
    stderr: () => err,
    exited,
    stop(stopOpts = {}) {
      stopping ??= stopChild(child, exited, stopOpts.killAfterMs ?? 5_000);
      return stopping.then(async (r) => {
        if (stopOpts.removeDir) await rm(dataDir, { recursive: true, force: true });
        return r;
      });
    },
  };
  return server;
}

async function stopChild(
  child: ChildProcess,
  exited: Promise<{ code: number | null; signal: NodeJS.Signals | null }>,
  killAfterMs: number,
): Promise<{ code: number | null; signal: NodeJS.Signals | null }> {
  if (child.exitCode !== null || child.signalCode !== null) return exited;
  child.kill('SIGTERM');
  const timer = setTimeout(() => child.kill('SIGKILL'), killAfterMs);
  try {
    return await exited;
  } finally {
    clearTimeout(timer);
  }
}

/** Result of a finished child process. */
export interface RunResult {
  code: number | null;
  signal: NodeJS.Signals | null;
  stdout: string;
  stderr: string;
}

/** Runs any program with a timeout (SIGKILL when it expires) and collects its output. */
export function runProcess(
  command: string,
  args: string[],
  opts: { env?: NodeJS.ProcessEnv; cwd?: string; timeoutMs?: number; input?: string | Buffer } = {},
): Promise<RunResult> {
  return new Promise((res, rej) => {
    const child = spawn(command, args, {
      cwd: opts.cwd ?? REPO_ROOT,
      env: opts.env ?? childEnv(),
      stdio: [opts.input === undefined ? 'ignore' : 'pipe', 'pipe', 'pipe'],
    });
    let stdout = '';
    let stderr = '';
    child.stdout!.setEncoding('utf8');
    child.stderr!.setEncoding('utf8');
    child.stdout!.on('data', (s: string) => (stdout += s));
    child.stderr!.on('data', (s: string) => (stderr += s));
    const timeoutMs = opts.timeoutMs ?? 60_000;
    let timedOut = false;
    const timer = setTimeout(() => {
      timedOut = true;
      child.kill('SIGKILL');
    }, timeoutMs);
    child.once('error', (e) => {
      clearTimeout(timer);
      rej(e);
    });
    child.once('close', (code, signal) => {
      clearTimeout(timer);
      if (timedOut) stderr += `\n[harness] ${command} killed after ${timeoutMs} ms`;
      res({ code, signal, stdout, stderr });
    });
    if (opts.input !== undefined) child.stdin!.end(opts.input);
  });
}

/** Runs `coffer ARGS…` (the CLI, not the server) to completion, e.g. `['user', 'add', '--data', dir, …]`. */
export function runCli(
  args: string[],
  opts: { env?: Record<string, string | undefined>; timeoutMs?: number } = {},
): Promise<RunResult> {
  return runProcess(process.execPath, ['--import', 'tsx', CLI_PATH, ...args], {
    env: childEnv({ COFFER_MASTER_KEY: undefined, ...opts.env }),
    timeoutMs: opts.timeoutMs ?? 30_000,
  });
}

/** Adds a user to a stopped server's data dir with the CLI; throws with the CLI's output when it fails. */
export async function addUser(
  dataDir: string,
  user: { accessKey: string; secretKey: string; name: string },
): Promise<void> {
  const r = await runCli([
    'user',
    'add',
    '--data',
    dataDir,
    '--access-key',
    user.accessKey,
    '--secret-key',
    user.secretKey,
    '--name',
    user.name,
  ]);
  if (r.code !== 0) throw new Error(`coffer user add failed (${r.code})\n${r.stdout}\n${r.stderr}`);
}
