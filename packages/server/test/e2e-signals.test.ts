/**
 * End-to-end: a supervisor can stop the server. The server is started exactly the ways the README gives
 * (`pnpm start`, `pnpm coffer serve`, the linked `coffer` executable); SIGTERM (systemd, a test harness) or SIGINT
 * goes to the process that was started, and then nothing may listen on the port and no process of the tree may be
 * left, not even one re-parented to init. The tree is read from /proc before the signal, because afterwards an
 * orphan is no longer anyone's child.
 */
import assert from 'node:assert/strict';
import { readdir, readFile } from 'node:fs/promises';
import { connect } from 'node:net';
import { afterEach, describe, it } from 'node:test';

import { sleep } from './helpers/assert.ts';
import { COFFER_BIN, startServer, type RunningServer } from './helpers/server.ts';

/** How long the started process and its tree get to go away after the signal: a bound, not a speed requirement. */
const EXIT_BOUND_MS = 15_000;

/** One process as /proc shows it; the start time tells a reused pid from the original process. */
interface ProcessEntry {
  pid: number;
  ppid: number;
  startTime: string;
  state: string;
  cmdline: string;
}

/** `/proc/PID/stat` and `cmdline`, or undefined once the process is gone. */
async function readProcess(pid: number): Promise<ProcessEntry | undefined> {
  try {
    const stat = await readFile(`/proc/${pid}/stat`, 'utf8');
    // The command name in parentheses may hold spaces and parentheses: the fields start after the last ')'.
    const fields = stat.slice(stat.lastIndexOf(')') + 2).split(' ');
    const cmdline = (await readFile(`/proc/${pid}/cmdline`, 'utf8')).replaceAll('\0', ' ').trim();
    return { pid, state: fields[0]!, ppid: Number(fields[1]), startTime: fields[19]!, cmdline };
  } catch (err) {
    if ((err as NodeJS.ErrnoException).code === 'ENOENT' || (err as NodeJS.ErrnoException).code === 'ESRCH') {
      return undefined;
    }
    throw err;
  }
}

/** Every process /proc shows now. */
async function allProcesses(): Promise<ProcessEntry[]> {
  const all: ProcessEntry[] = [];
  for (const name of await readdir('/proc')) {
    if (!/^\d+$/.test(name)) continue;
    const p = await readProcess(Number(name));
    if (p) all.push(p);
  }
  return all;
}

/** `root` and all its descendants, now. */
async function processTree(root: number): Promise<ProcessEntry[]> {
  const all = await allProcesses();
  const tree = all.filter((p) => p.pid === root);
  for (let i = 0; i < tree.length; i++) tree.push(...all.filter((p) => p.ppid === tree[i]!.pid));
  return tree;
}

/**
 * Those of `tree` that still run (same pid and start time, and not a zombie: exited, waiting to be reaped), and any
 * other running process whose command line names `dataDir` (the test's own temp dir): one started after the tree
 * was read and orphaned since.
 */
async function survivors(tree: readonly ProcessEntry[], dataDir: string): Promise<ProcessEntry[]> {
  const running = (await allProcesses()).filter((p) => p.state !== 'Z');
  return running.filter(
    (p) => p.cmdline.includes(dataDir) || tree.some((t) => t.pid === p.pid && t.startTime === p.startTime),
  );
}

/** Waits up to `boundMs` for every such process to end; returns those still running then. */
async function waitGone(tree: readonly ProcessEntry[], dataDir: string, boundMs: number): Promise<ProcessEntry[]> {
  const deadline = Date.now() + boundMs;
  let left = await survivors(tree, dataDir);
  while (left.length > 0 && Date.now() < deadline) {
    await sleep(100);
    left = await survivors(tree, dataDir);
  }
  return left;
}

/** What a TCP connection to the port meets: `'connected'`, or the error code (`ECONNREFUSED` once nothing listens). */
function tryConnect(port: number): Promise<string> {
  return new Promise((res) => {
    const socket = connect({ host: '127.0.0.1', port });
    socket.once('connect', () => {
      socket.destroy();
      res('connected');
    });
    socket.once('error', (err: NodeJS.ErrnoException) => res(err.code ?? err.message));
  });
}

/** The README's ways to start the server: what it says to type, and the same as a command line. */
const LAUNCHERS: ReadonlyArray<{ name: string; command: readonly string[] }> = [
  { name: 'pnpm start', command: ['pnpm', 'start'] },
  { name: 'pnpm coffer serve', command: ['pnpm', 'coffer', 'serve'] },
  { name: 'node_modules/.bin/coffer serve', command: [COFFER_BIN, 'serve'] },
];

let started: { server: RunningServer; tree: ProcessEntry[] } | undefined;

afterEach(async () => {
  if (!started) return;
  const { server, tree } = started;
  started = undefined;
  // A failed test may leave the tree running: end exactly those processes (pid and start time match), then the dir.
  for (const p of await survivors(tree, server.dataDir)) {
    try {
      process.kill(p.pid, 'SIGKILL');
    } catch (err) {
      if ((err as NodeJS.ErrnoException).code !== 'ESRCH') throw err; // ended in the meantime
    }
  }
  await server.stop({ removeDir: true });
});

for (const { name, command } of LAUNCHERS) {
  describe(`coffer serve started as \`${name}\``, () => {
    for (const signal of ['SIGTERM', 'SIGINT'] as const) {
      it(`should stop listening and leave no process when the started process gets ${signal}`, async () => {
        const server = await startServer({ command });
        const tree = await processTree(server.pid);
        started = { server, tree };
        assert.equal(await tryConnect(server.port), 'connected', 'the server listens before the signal');

        process.kill(server.pid, signal);
        const left = await waitGone(tree, server.dataDir, EXIT_BOUND_MS);
        assert.deepEqual(
          left.map((p) => `${p.pid} (parent ${p.ppid}): ${p.cmdline}`),
          [],
          'no process of the tree is left',
        );
        assert.deepEqual(
          await server.exited,
          { code: 0, signal: null },
          `the started process shuts down and exits 0, not killed by ${signal}\n${server.stderr()}`,
        );
        assert.equal(await tryConnect(server.port), 'ECONNREFUSED', 'nothing listens on the port any more');
      });
    }
  });
}
