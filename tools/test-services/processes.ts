/**
 * What the throw-away services (PostgreSQL, Ceph) share: free loopback ports, running a program with a deadline,
 * waiting for a condition, recognising a process we started, and cleaning up when the test process ends.
 */
import { execFile } from 'node:child_process';
import { readdirSync, readFileSync } from 'node:fs';
import { createServer } from 'node:net';
import { setTimeout as sleep } from 'node:timers/promises';

/** Asks the kernel for a free port on 127.0.0.1. Another process may take it before we bind it: callers retry. */
export function freePort(): Promise<number> {
  return new Promise((resolve, reject) => {
    const server = createServer();
    server.once('error', reject);
    server.listen(0, '127.0.0.1', () => {
      const address = server.address();
      server.close(() => {
        if (address !== null && typeof address === 'object') resolve(address.port);
        else reject(new Error('no port assigned'));
      });
    });
  });
}

/** Options of {@link run}. */
export interface RunOptions {
  /** Kill the program after this many ms (default 60 000): a daemon that never answers must not hang a test. */
  timeoutMs?: number;
  /** Working directory. */
  cwd?: string;
}

/** Runs a program to completion and resolves with its stdout; rejects with its stderr in the message on failure. */
export function run(file: string, args: readonly string[], opts: RunOptions = {}): Promise<string> {
  return new Promise((resolve, reject) => {
    const options = { cwd: opts.cwd, timeout: opts.timeoutMs ?? 60_000, killSignal: 'SIGKILL' as const };
    execFile(file, args, options, (error, stdout, stderr) => {
      if (error === null) resolve(stdout);
      else reject(new Error(`${file} ${args.join(' ')} failed: ${error.message.trim()}\n${stderr.trim()}`));
    });
  });
}

/**
 * Calls `probe` until it returns a value other than `undefined`, `intervalMs` apart, and throws after `timeoutMs`
 * with `what` and the last error in the message.
 */
export async function waitFor<T>(
  what: string,
  probe: () => Promise<T | undefined>,
  { timeoutMs = 60_000, intervalMs = 250 } = {},
): Promise<T> {
  const deadline = Date.now() + timeoutMs;
  let lastError: unknown;
  for (;;) {
    try {
      const value = await probe();
      if (value !== undefined) return value;
    } catch (err) {
      lastError = err;
    }
    if (Date.now() > deadline) {
      const detail = lastError instanceof Error ? `: ${lastError.message}` : '';
      throw new Error(`timed out after ${timeoutMs} ms waiting for ${what}${detail}`);
    }
    await sleep(intervalMs);
  }
}

/**
 * True when `pid` is alive and its command line contains `marker` (a path inside the service's own directory), so
 * that a pid recorded in a state file is never confused with an unrelated process that reused the number.
 */
export function isOurProcess(pid: number, marker: string): boolean {
  try {
    return readFileSync(`/proc/${pid}/cmdline`, 'utf8').split('\0').join(' ').includes(marker);
  } catch {
    return false;
  }
}

/**
 * True once `pid` has finished exiting: gone, or a zombie waiting for its parent. Only then are its sockets closed;
 * its command line empties earlier, while it still holds its ports. Every thread counts: the main thread of a
 * multi-threaded daemon shows as a zombie while the others are still tearing down (and holding the files).
 */
export function hasExited(pid: number): boolean {
  let tasks: string[];
  try {
    tasks = readdirSync(`/proc/${pid}/task`);
  } catch {
    return true;
  }
  return tasks.every((tid) => {
    try {
      // the state is the first field after the parenthesised command name, which may itself contain spaces
      const stat = readFileSync(`/proc/${pid}/task/${tid}/stat`, 'utf8');
      return /^[ZX]/.test(stat.slice(stat.lastIndexOf(')') + 2));
    } catch {
      return true;
    }
  });
}

/** Sends `signal` to `pid` if it is still ours (see {@link isOurProcess}) and waits until it has exited. */
export async function killAndWait(pid: number, marker: string, signal: NodeJS.Signals = 'SIGKILL'): Promise<void> {
  if (!isOurProcess(pid, marker)) return;
  try {
    process.kill(pid, signal);
  } catch {
    return; // exited meanwhile
  }
  await waitFor(`process ${pid} to exit`, async () => (hasExited(pid) ? true : undefined), {
    timeoutMs: 30_000,
    intervalMs: 50,
  });
}

const cleanups = new Set<() => void>();
let hooked = false;

/**
 * Registers a synchronous clean-up that runs if the test process exits (or is killed by SIGINT, SIGTERM or SIGHUP)
 * before the service was stopped, so that no daemon outlives the test file that started it. Returns the function
 * that unregisters it.
 */
export function cleanupOnExit(cleanup: () => void): () => void {
  cleanups.add(cleanup);
  if (!hooked) {
    hooked = true;
    process.once('exit', runCleanups);
    for (const signal of ['SIGINT', 'SIGTERM', 'SIGHUP'] as const) {
      process.once(signal, () => {
        runCleanups();
        // then die of the same signal, as the process would have without this handler
        process.kill(process.pid, signal);
      });
    }
  }
  return () => cleanups.delete(cleanup);
}

function runCleanups(): void {
  for (const cleanup of cleanups) {
    try {
      cleanup();
    } catch {
      // best effort: the process is going away
    }
  }
  cleanups.clear();
}
