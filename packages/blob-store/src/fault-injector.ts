import * as fsp from 'node:fs/promises';
import type { FileHandle } from 'node:fs/promises';

import type { BatchHook, FileOps } from './options.ts';

/**
 * What an injected fault does to the call it hits:
 * - `EIO`, `ENOSPC`: the call fails with that errno and does nothing;
 * - `EIO-after`: the call is done, then reported failed (a rename that happened, a batch that reached the log);
 * - `short`: a write writes half of what it was asked (as on a nearly full disk) and says so; other calls run;
 * - `zero`: a write writes nothing and reports 0 bytes; other calls run.
 */
export type FaultKind = 'EIO' | 'ENOSPC' | 'EIO-after' | 'short' | 'zero';

/** The calls a {@link FaultInjector} counts: the store's {@link FileOps}, the handle calls, and metadata batches. */
export type FaultCall = keyof FileOps | 'write' | 'writev' | 'datasync' | 'sync' | 'close' | 'batch';

const HANDLE_CALLS: ReadonlySet<string | symbol> = new Set(['write', 'writev', 'datasync', 'sync', 'close']);
const ERRNO: Record<string, number> = { EIO: -5, ENOSPC: -28 };

/**
 * TEST ONLY: makes the N-th file-system call or metadata batch of a store fail. Pass {@link hooks} as the store's
 * `testing` option; {@link arm} starts counting from 1 at the next call and fails the N-th with the given kind;
 * {@link hit} then names the call that was failed (undefined while none was). Calls are counted only while armed.
 */
export class FaultInjector {
  #armed = false;
  #failAt = 0;
  #kind: FaultKind = 'EIO';
  #calls: FaultCall[] = [];
  #hit: FaultCall | undefined;

  /** The store's `testing` option: file-system calls and the metadata batch through this injector. */
  readonly hooks: { fs: FileOps; batch: BatchHook } = {
    fs: {
      open: (async (...args: Parameters<typeof fsp.open>) => {
        const fh = await this.#call('open', () => fsp.open(...args));
        return this.#wrapHandle(fh);
      }) as FileOps['open'],
      mkdir: ((...args: Parameters<typeof fsp.mkdir>) =>
        this.#call('mkdir', () => fsp.mkdir(...args))) as FileOps['mkdir'],
      rename: (...args) => this.#call('rename', () => fsp.rename(...args)),
      rm: (...args) => this.#call('rm', () => fsp.rm(...args)),
      readdir: ((...args: Parameters<typeof fsp.readdir>) =>
        this.#call('readdir', () => fsp.readdir(...args))) as FileOps['readdir'],
    },
    batch: (write) => this.#call('batch', write),
  };

  /** Fails the `n`-th call (from 1) from now on with `kind`; resets the count and {@link hit}. */
  arm(n: number, kind: FaultKind): void {
    if (!Number.isSafeInteger(n) || n < 1) throw new RangeError('n must be a positive integer');
    this.#armed = true;
    this.#failAt = n;
    this.#kind = kind;
    this.#calls = [];
    this.#hit = undefined;
  }

  /** Stops counting and failing. */
  disarm(): void {
    this.#armed = false;
  }

  /** The calls counted since {@link arm}, in order. */
  get calls(): readonly FaultCall[] {
    return this.#calls;
  }

  /** The call that was failed since {@link arm}, if any. */
  get hit(): FaultCall | undefined {
    return this.#hit;
  }

  /**
   * True when the fault that hit must fail the operation: a write path may not acknowledge what it could not
   * write or sync. Only a short write (the rest is retried) and a failed unlink (of a freed blob or of a failed
   * write's file: the sweep retries it) may be absorbed.
   */
  get fatal(): boolean {
    return this.#hit !== undefined && this.#hit !== 'rm' && this.#kind !== 'short';
  }

  /** Counts a call; runs it, fails it, or (for a write) shortens it, per the armed fault. */
  async #call<T>(name: FaultCall, run: () => Promise<T>, short?: (bytes: 'half' | 'none') => Promise<T>): Promise<T> {
    if (!this.#armed) return run();
    this.#calls.push(name);
    if (this.#calls.length !== this.#failAt) return run();
    switch (this.#kind) {
      case 'short':
      case 'zero':
        if (!short) return run();
        this.#hit = name;
        return short(this.#kind === 'short' ? 'half' : 'none');
      case 'EIO-after':
        this.#hit = name;
        await release(await run());
        throw fault('EIO', name);
      default:
        this.#hit = name;
        // close(2) frees the descriptor even when it reports an error.
        if (name === 'close') await run();
        throw fault(this.#kind, name);
    }
  }

  /** The handle, with its write calls counted (and failable); everything else passes through. */
  #wrapHandle(fh: FileHandle): FileHandle {
    return new Proxy(fh, {
      get: (target, prop) => {
        const value: unknown = Reflect.get(target, prop, target);
        if (typeof value !== 'function') return value;
        const fn = value as (...a: unknown[]) => Promise<unknown>;
        if (!HANDLE_CALLS.has(prop)) return fn.bind(target);
        return (...args: unknown[]) =>
          this.#call(
            prop as FaultCall,
            () => fn.apply(target, args),
            (bytes) => {
              // write(buffer, offset, length, position) or writev(buffers, position): write a prefix of the bytes.
              const [buf, off, len, pos] =
                prop === 'writev'
                  ? [
                      Buffer.concat(args[0] as Buffer[]),
                      0,
                      (args[0] as Buffer[]).reduce((n, b) => n + b.length, 0),
                      args[1],
                    ]
                  : (args as [Buffer, number, number, number]);
              if (bytes === 'none') return Promise.resolve({ bytesWritten: 0, buffer: buf });
              return target.write(buf, off, Math.max(1, Math.floor(len / 2)), pos as number);
            },
          );
      },
    });
  }
}

/** Every fault kind, for a test that tries them all. */
export const FAULT_KINDS: readonly FaultKind[] = Object.freeze(['EIO', 'ENOSPC', 'EIO-after', 'short', 'zero']);

/** One fault of a {@link faultPlan}: fail call number `n` (from 1), which is `call`, with `kind`. */
export interface PlannedFault {
  n: number;
  kind: FaultKind;
  call: FaultCall;
}

/**
 * Every (N, kind) to try for an operation whose fault-free run made `calls`: each call with each kind, except the
 * write-only kinds (`short`, `zero`) on calls that are not writes.
 */
export function faultPlan(calls: readonly FaultCall[], kinds: readonly FaultKind[] = FAULT_KINDS): PlannedFault[] {
  const out: PlannedFault[] = [];
  for (const kind of kinds) {
    calls.forEach((call, i) => {
      if ((kind === 'short' || kind === 'zero') && call !== 'write' && call !== 'writev') return;
      out.push({ n: i + 1, kind, call });
    });
  }
  return out;
}

/** A file handle opened by a call that is then reported failed is closed: its caller never sees it. */
async function release(result: unknown): Promise<void> {
  if (result !== null && typeof result === 'object' && 'close' in result && typeof result.close === 'function') {
    await (result as FileHandle).close();
  }
}

function fault(code: string, syscall: string): NodeJS.ErrnoException {
  const err: NodeJS.ErrnoException = new Error(`${code}: injected fault, ${syscall}`);
  err.code = code;
  err.errno = ERRNO[code];
  err.syscall = syscall;
  return err;
}
