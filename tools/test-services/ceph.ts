/**
 * A throw-away one-node Ceph for tests: one monitor, one OSD on `memstore` (no block device; the data lives in the
 * OSD's memory and is gone when it stops) and radosgw serving S3 on `beast` on a free loopback port, all configured
 * by their own ceph.conf in a fresh directory and stopped by pid. See shared/SCALE-OUT.md for why each setting is
 * there; the comments below add what this machine taught us.
 *
 * Needs Debian's ceph-mon, ceph-osd, radosgw and ceph-common (tools/install-test-deps.sh). Runs as any user that can
 * write the directory; no daemon binds anything but 127.0.0.1.
 */
import { spawn } from 'node:child_process';
import { randomBytes, randomUUID } from 'node:crypto';
import { closeSync, openSync, rmSync } from 'node:fs';
import { mkdir, mkdtemp, readFile, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { cleanupOnExit, freePort, isOurProcess, killAndWait, run, waitFor } from './processes.ts';

/** The region RGW accepts in SigV4 signatures (its default zonegroup takes any; S3 clients want one). */
export const CEPH_REGION = 'us-east-1';

/** The daemons {@link startCeph} runs, by the name their logs and pids are recorded under. */
export type CephDaemon = 'mon' | 'osd' | 'rgw';

/** Options of {@link startCeph}. */
export interface StartCephOptions {
  /** Use this (new or empty) directory instead of a fresh temp directory. */
  dir?: string;
  /**
   * Leave the daemons running when this process exits (for tools/dev-cluster.sh). By default daemons not yet
   * stopped are killed and the directory removed when the process exits.
   */
  keepAfterExit?: boolean;
  /** Capacity of the memstore OSD in bytes (default 1 GiB); it holds every object in memory. */
  memstoreBytes?: number;
}

/** A running throw-away Ceph. */
export interface RunningCeph {
  /** radosgw's S3 endpoint, `http://127.0.0.1:PORT` (path-style addressing only: no DNS name is configured). */
  endpoint: string;
  /** Access key of the S3 user created for the tests. */
  accessKey: string;
  /** Secret key of that user. */
  secretKey: string;
  /** The directory holding ceph.conf, the daemons' data and logs (`log/`) and `state.json`. */
  dir: string;
  /** Pids of the running daemons (`undefined` for radosgw while it is stopped). */
  pids(): Record<CephDaemon, number | undefined>;
  /** Which daemons are alive. */
  alive(): Record<CephDaemon, boolean>;
  /**
   * Stops radosgw only (SIGKILL by default: in-flight requests see their connection reset, as when the gateway
   * crashes; SIGTERM lets it shut down). Requests then fail with a connection error until {@link startRgw}.
   */
  stopRgw(signal?: NodeJS.Signals): Promise<void>;
  /** Starts radosgw again on the same port and resolves once it answers HTTP. */
  startRgw(): Promise<void>;
  /** Kills exactly the daemons this Ceph started (by pid) and removes its directory. Safe to call twice. */
  stop(): Promise<void>;
}

/** What `state.json` records, so that {@link attachCeph} can find a Ceph started by another process. */
interface CephState {
  endpoint: string;
  accessKey: string;
  secretKey: string;
  rgwPort: number;
  pids: Partial<Record<CephDaemon, number>>;
}

/** How long a daemon gets to come up; generous because the machines that run the tests may be loaded. */
const READY_TIMEOUT_MS = 120_000;

/** How often the OSD may be started before giving up (its first start races the monmap, see startOsd). */
const OSD_STARTS = 5;

/** Starts a fresh one-node Ceph and resolves once radosgw serves S3 for the returned user. */
export async function startCeph(opts: StartCephOptions = {}): Promise<RunningCeph> {
  const dir = opts.dir ?? (await mkdtemp(join(tmpdir(), 'coffer-ceph-')));
  for (let attempt = 1; ; attempt++) {
    const ceph = new Ceph(dir, opts.keepAfterExit ?? false);
    try {
      await ceph.bootstrap(opts.memstoreBytes ?? 1024 ** 3);
      return ceph.handle();
    } catch (err) {
      // a port we probed as free may have been taken before a daemon bound it: start again on other ports, once
      const portTaken = /Address already in use/.test(await ceph.logs());
      await ceph.stop();
      if (!portTaken || attempt >= 2) throw err;
    }
  }
}

/** Reattaches to a Ceph that {@link startCeph} started in `dir` (possibly from another process). */
export async function attachCeph(dir: string): Promise<RunningCeph> {
  const state = JSON.parse(await readFile(join(dir, 'state.json'), 'utf8')) as CephState;
  return new Ceph(dir, true, state).handle();
}

/** One Ceph's directory, daemons and state. */
class Ceph {
  readonly #dir: string;
  readonly #conf: string;
  readonly #state: CephState;
  readonly #unregister: () => void;
  #stopped = false;

  constructor(dir: string, keepAfterExit: boolean, state?: CephState) {
    this.#dir = dir;
    this.#conf = join(dir, 'ceph.conf');
    this.#state = state ?? { endpoint: '', accessKey: '', secretKey: '', rgwPort: 0, pids: {} };
    this.#unregister = keepAfterExit ? () => undefined : cleanupOnExit(() => this.#killAllSync());
  }

  async bootstrap(memstoreBytes: number): Promise<void> {
    for (const sub of ['log', 'run', 'mon', 'osd', 'rgw']) await mkdir(join(this.#dir, sub), { recursive: true });
    const fsid = randomUUID();
    const monPort = await freePort();
    this.#state.rgwPort = await freePort();
    this.#state.endpoint = `http://127.0.0.1:${this.#state.rgwPort}`;
    await writeFile(this.#conf, cephConf(this.#dir, fsid, monPort, this.#state.rgwPort, memstoreBytes));

    // `--add` would register a msgr2 address as well, and v1-only clients then hang: give the v1 address alone
    const monmap = join(this.#dir, 'monmap');
    await run('monmaptool', ['--create', '--fsid', fsid, '--addv', 'a', `[v1:127.0.0.1:${monPort}]`, monmap]);
    await run('ceph-mon', ['-c', this.#conf, '--mkfs', '-i', 'a', '--monmap', monmap]);
    await this.#spawn('mon', 'ceph-mon', ['-i', 'a']);

    await this.#startOsd();
    await this.startRgw();

    this.#state.accessKey = 'AKCEPH' + randomBytes(7).toString('hex').toUpperCase();
    this.#state.secretKey = randomBytes(30).toString('base64url');
    await run('radosgw-admin', [
      '-c',
      this.#conf,
      'user',
      'create',
      '--uid',
      'coffer-test',
      '--display-name',
      'coffer test',
      '--access-key',
      this.#state.accessKey,
      '--secret',
      this.#state.secretKey,
    ]);
    await this.#saveState();
  }

  /**
   * Registers an OSD with the monitor, makes its memstore and starts it. Its first start sometimes races the
   * monmap and exits ("unable to update_crush_device_class"); starting it again works, so it is restarted while
   * it exits, up to {@link OSD_STARTS} times.
   */
  async #startOsd(): Promise<void> {
    const uuid = randomUUID();
    // a monitor that is up but not yet in quorum fails commands at once ("EPERM: problem getting command
    // descriptions from mon") instead of waiting: retry; `osd new` with the same uuid returns the same id
    const id = await this.#waitOrExplain('mon', 'the monitor to register the OSD', async () =>
      (await this.#ceph(['osd', 'new', uuid])).trim(),
    );
    await mkdir(join(this.#dir, 'osd', `osd.${id}`), { recursive: true });
    await run('ceph-osd', ['-c', this.#conf, '-i', id, '--mkfs', '--osd-uuid', uuid]);
    let starts = 0;
    await this.#waitOrExplain('osd', 'the OSD to come up', async () => {
      if (!this.#alive('osd')) {
        if (starts >= OSD_STARTS) throw new Error(`the OSD exited ${starts} times`);
        starts++;
        await this.#spawn('osd', 'ceph-osd', ['-i', id]);
        return undefined;
      }
      const stat = JSON.parse(await this.#ceph(['osd', 'stat', '--format', 'json'])) as { num_up_osds: number };
      return stat.num_up_osds === 1 ? true : undefined;
    });
  }

  async startRgw(): Promise<void> {
    if (this.#alive('rgw')) return;
    await this.#spawn('rgw', 'radosgw', ['-n', 'client.rgw.a']);
    // on its first start radosgw creates its pools before it listens: that takes a few seconds
    await this.#waitOrExplain('rgw', 'radosgw to answer HTTP', async () => {
      if (!this.#alive('rgw')) throw new Error('radosgw exited');
      const response = await fetch(this.#state.endpoint, { signal: AbortSignal.timeout(5_000) });
      await response.arrayBuffer();
      return true;
    });
    await this.#saveState();
  }

  async stopRgw(signal: NodeJS.Signals = 'SIGKILL'): Promise<void> {
    const pid = this.#state.pids.rgw;
    if (pid !== undefined) await killAndWait(pid, this.#conf, signal);
    delete this.#state.pids.rgw;
    await this.#saveState();
  }

  async stop(): Promise<void> {
    if (this.#stopped) return;
    this.#stopped = true;
    // memstore keeps nothing worth a clean shutdown, and SIGTERM makes the OSD linger for seconds
    for (const daemon of ['rgw', 'osd', 'mon'] as const) {
      const pid = this.#state.pids[daemon];
      if (pid !== undefined) await killAndWait(pid, this.#conf);
    }
    await rm(this.#dir, { recursive: true, force: true });
    this.#unregister();
  }

  /** The tails of all daemon logs, for error messages. */
  async logs(): Promise<string> {
    const tails: string[] = [];
    for (const daemon of ['mon', 'osd', 'rgw'] as const) {
      const text = await readFile(join(this.#dir, 'log', `${daemon}.out`), 'utf8').catch(() => '');
      if (text !== '') tails.push(`--- ${daemon}.out\n${text.split('\n').slice(-15).join('\n')}`);
    }
    return tails.join('\n');
  }

  handle(): RunningCeph {
    return {
      endpoint: this.#state.endpoint,
      accessKey: this.#state.accessKey,
      secretKey: this.#state.secretKey,
      dir: this.#dir,
      pids: () => ({ mon: this.#state.pids.mon, osd: this.#state.pids.osd, rgw: this.#state.pids.rgw }),
      alive: () => ({ mon: this.#alive('mon'), osd: this.#alive('osd'), rgw: this.#alive('rgw') }),
      stopRgw: (signal) => this.stopRgw(signal),
      startRgw: () => this.startRgw(),
      stop: () => this.stop(),
    };
  }

  #alive(daemon: CephDaemon): boolean {
    const pid = this.#state.pids[daemon];
    return pid !== undefined && isOurProcess(pid, this.#conf);
  }

  /**
   * Starts a daemon in the foreground (`-f`), so that the pid we record is the daemon's own, with its output in
   * log/DAEMON.out. The daemon does not keep this process alive; detached, it also outlives it (keepAfterExit).
   */
  async #spawn(daemon: CephDaemon, program: string, args: readonly string[]): Promise<void> {
    const out = openSync(join(this.#dir, 'log', `${daemon}.out`), 'a');
    try {
      const child = spawn(program, ['-c', this.#conf, '-f', ...args], {
        cwd: this.#dir,
        detached: true,
        stdio: ['ignore', out, out],
      });
      child.unref();
      if (child.pid === undefined) throw new Error(`${program} did not start`);
      this.#state.pids[daemon] = child.pid;
    } finally {
      closeSync(out);
    }
    await this.#saveState();
  }

  /** The ceph CLI against this cluster only, with a bound on how long it waits for the monitor. */
  #ceph(args: readonly string[]): Promise<string> {
    return run('ceph', ['-c', this.#conf, '--connect-timeout', '30', ...args], { timeoutMs: 60_000 });
  }

  /** {@link waitFor}, with the daemon's log tail in the error: a Ceph that does not start says why only there. */
  async #waitOrExplain<T>(daemon: CephDaemon, what: string, probe: () => Promise<T | undefined>): Promise<T> {
    try {
      return await waitFor(what, probe, { timeoutMs: READY_TIMEOUT_MS, intervalMs: 300 });
    } catch (err) {
      const log = await readFile(join(this.#dir, 'log', `${daemon}.out`), 'utf8').catch(() => '');
      throw new Error(`${(err as Error).message}\n${log.split('\n').slice(-15).join('\n')}`, { cause: err });
    }
  }

  async #saveState(): Promise<void> {
    if (this.#stopped) return;
    await writeFile(join(this.#dir, 'state.json'), JSON.stringify(this.#state), { mode: 0o600 });
  }

  /** For the exit hook: synchronous, and only pids whose command line still names our ceph.conf. */
  #killAllSync(): void {
    for (const pid of Object.values(this.#state.pids)) {
      if (isOurProcess(pid, this.#conf)) process.kill(pid, 'SIGKILL');
    }
    rmSync(this.#dir, { recursive: true, force: true });
  }
}

/** The cluster's whole configuration; nothing is read from /etc/ceph because every command names this file. */
function cephConf(dir: string, fsid: string, monPort: number, rgwPort: number, memstoreBytes: number): string {
  return `[global]
fsid = ${fsid}
mon host = v1:127.0.0.1:${monPort}
mon initial members = a
public addr = 127.0.0.1
cluster addr = 127.0.0.1
# a throw-away cluster on loopback: no cephx keys to make or pass around
auth cluster required = none
auth service required = none
auth client required = none
# msgr2 would need its own port in the monmap; v1 alone is enough here
ms bind msgr2 = false
osd objectstore = memstore
memstore device bytes = ${memstoreBytes}
# one OSD: one replica, and placement that does not look for other hosts
osd pool default size = 1
osd pool default min size = 1
mon allow pool size one = true
osd crush chooseleaf type = 0
# radosgw makes about ten pools; few placement groups each keeps them under the per-OSD cap and the CPU idle
osd pool default pg num = 8
osd pool default pgp num = 8
osd pool default pg autoscale mode = off
mon max pg per osd = 1000
# radosgw's object names are longer than the defaults of the file-system object stores
osd max object name len = 460
osd max object namespace len = 64
mon warn on pool no redundancy = false
mon warn on insecure global id reclaim allowed = false
run dir = ${dir}/run
admin socket = ${dir}/run/$name.asok
log file = ${dir}/log/$name.log
mon data = ${dir}/mon/$name
osd data = ${dir}/osd/$name

[client.rgw.a]
rgw frontends = beast endpoint=127.0.0.1:${rgwPort}
rgw data = ${dir}/rgw
`;
}
