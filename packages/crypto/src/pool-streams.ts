import { Transform, type TransformCallback } from 'node:stream';

import { CryptoError } from './errors.ts';
import { TAG_LENGTH } from './format.ts';
import type { CryptoPool } from './pool.ts';
import type { PoolResult } from './pool-worker.ts';
import { ChunkSealer } from './sealer.ts';

// The pooled variants of createEncryptStream / createDecryptStream (streams.ts picks them when given `pool`).
// Same bytes in, same bytes out, same errors; only where the AES work runs differs.

interface Slot {
  done: boolean;
  result?: PoolResult;
  error?: unknown;
}

/**
 * The batches of one stream that are in the pool, in submission order. Results are handed to `deliver` strictly
 * in that order, whatever order the workers finish in; `room()` / `empty()` let the stream wait for the window.
 */
class OrderedWindow {
  readonly #slots: Slot[] = [];
  readonly #max: number;
  readonly #deliver: (r: PoolResult) => void;
  readonly #fail: (err: unknown) => void;
  #wake: (() => void) | undefined;
  #stopped = false;

  constructor(max: number, deliver: (r: PoolResult) => void, fail: (err: unknown) => void) {
    this.#max = max;
    this.#deliver = deliver;
    this.#fail = fail;
  }

  get size(): number {
    return this.#slots.length;
  }

  add(p: Promise<PoolResult>): void {
    const slot: Slot = { done: false };
    this.#slots.push(slot);
    p.then(
      (result) => this.#settle(slot, result, undefined),
      (error: unknown) => this.#settle(slot, undefined, error ?? new Error('crypto pool task failed')),
    );
  }

  /** Drops everything still to come (the stream is gone): late results are wiped, not delivered. */
  stop(): void {
    this.#stopped = true;
    for (const s of this.#slots) wipe(s.result);
    this.#wake?.();
  }

  /** Resolves when fewer than `max` batches are outstanding (or the stream stopped). */
  room(): Promise<void> {
    return this.#until(() => this.#slots.length < this.#max);
  }

  /** Resolves when no batch is outstanding (or the stream stopped). */
  empty(): Promise<void> {
    return this.#until(() => this.#slots.length === 0);
  }

  #until(cond: () => boolean): Promise<void> {
    if (this.#stopped || cond()) return Promise.resolve();
    return new Promise((resolve) => {
      this.#wake = () => {
        if (this.#stopped || cond()) {
          this.#wake = undefined;
          resolve();
        }
      };
    });
  }

  #settle(slot: Slot, result: PoolResult | undefined, error: unknown): void {
    slot.done = true;
    slot.result = result;
    slot.error = error;
    if (this.#stopped) {
      wipe(result);
      return;
    }
    while (this.#slots.length > 0 && this.#slots[0]!.done) {
      const head = this.#slots.shift()!;
      if (head.error !== undefined) {
        this.stop();
        this.#fail(head.error);
        return;
      }
      this.#deliver(head.result!);
      if (this.#stopped) return;
    }
    this.#wake?.();
  }
}

function wipe(r: PoolResult | undefined): void {
  if (r && r.buffer.byteLength > 0) new Uint8Array(r.buffer).fill(0);
}

/**
 * Pooled encryption. The first `pool.inlineBelow` bytes are sealed inline by a {@link ChunkSealer}, as the inline
 * stream does (so a small body never allocates a batch or waits for a worker); after that, plaintext is copied into
 * batch buffers laid out at the chunk-file stride (each chunk followed by a 16-byte slot for its tag), which the
 * workers seal in place. As inline, the last full batch is held back until more input or the end arrives, so the
 * final flag is right.
 */
export function createPooledEncryptStream(key: Buffer, chunkSize: number, pool: CryptoPool): Transform {
  const k = Buffer.from(key);
  const stride = chunkSize + TAG_LENGTH;
  const batchChunks = pool.batchChunks(chunkSize);
  const capacity = batchChunks * chunkSize; // plaintext bytes per batch
  const inlineChunks = Math.ceil(pool.inlineBelow / chunkSize);
  const sealer = new ChunkSealer(k, chunkSize); // chunks 0 … inlineChunks − 1
  let index = inlineChunks; // the first chunk of the next batch
  let batch: Buffer | undefined; // the batch being filled
  let filled = 0; // plaintext bytes in `batch`
  let window: OrderedWindow;

  const submit = (final: boolean): void => {
    const count = final ? Math.max(1, Math.ceil(filled / chunkSize)) : batchChunks;
    const lastPlainLength = final ? filled - (count - 1) * chunkSize : chunkSize;
    const length = (count - 1) * stride + lastPlainLength + TAG_LENGTH;
    const b = batch ?? Buffer.allocUnsafeSlow(length);
    batch = undefined;
    filled = 0;
    const job = {
      op: 'encrypt' as const,
      key: k,
      firstIndex: index,
      finalIndex: final ? index + count - 1 : -1,
      plainSize: 0,
      chunkSize,
      lastPlainLength,
    };
    index += count;
    window.add(pool.run(job, b.buffer as ArrayBuffer, length));
  };

  const stream = new Transform({
    transform(this: Transform, data: Buffer, _enc: BufferEncoding, cb: TransformCallback) {
      let off: number;
      try {
        off = sealer.write(this, data, 0, inlineChunks);
      } catch (err) {
        cb(err as Error);
        return;
      }
      if (off === data.length) {
        cb();
        return;
      }
      void (async () => {
        while (off < data.length) {
          if (filled === capacity) {
            submit(false); // more input follows, so no chunk of this batch is final
            await window.room();
            if (this.destroyed) return;
          }
          // Stride layout: plaintext byte p of the batch goes to floor(p/C)·(C+16) + p mod C.
          batch ??= Buffer.allocUnsafeSlow(batchChunks * stride);
          const r = filled % chunkSize;
          const n = Math.min(chunkSize - r, data.length - off);
          data.copy(batch, ((filled - r) / chunkSize) * stride + r, off, off + n);
          filled += n;
          off += n;
        }
        cb();
      })().catch((err: unknown) => cb(err as Error));
    },
    flush(this: Transform, cb: TransformCallback) {
      try {
        if (sealer.index < inlineChunks) {
          sealer.end(this);
          finish();
          cb();
          return;
        }
        submit(true);
      } catch (err) {
        cb(err as Error);
        return;
      }
      window.empty().then(() => {
        if (this.destroyed) return;
        finish();
        cb();
      }, cb);
    },
    destroy(err, cb) {
      window.stop();
      finish();
      batch?.fill(0);
      cb(err);
    },
  });
  const finish = (): void => {
    sealer.wipe();
    k.fill(0);
  };
  window = new OrderedWindow(
    pool.maxInFlightBatches,
    (r) => stream.push(Buffer.from(r.buffer, 0, r.length)),
    (err) => stream.destroy(err as Error),
  );
  return stream;
}

/** The options createDecryptStream has resolved. */
export interface ResolvedDecrypt {
  chunkSize: number;
  plainSize: number;
  objLast: number;
  firstChunk: number;
  lastChunk: number;
  skip: number;
  length: number;
}

/**
 * Pooled decryption of chunks firstChunk..lastChunk (the caller runs spans smaller than `pool.inlineBelow`
 * inline). Input is framed into batches of whole chunks, each submitted as soon as it is complete; the workers
 * verify and decrypt in place and send back the plaintext packed at the front, which is trimmed to
 * [skip, skip + length) and pushed in order. A chunk that fails authentication ends the stream with
 * CRYPTO_AUTH_FAILED after the verified chunks before it, and none of its own bytes.
 */
export function createPooledDecryptStream(key: Buffer, o: ResolvedDecrypt, pool: CryptoPool): Transform {
  const k = Buffer.from(key);
  const { chunkSize, plainSize, objLast, firstChunk, lastChunk, skip, length } = o;
  const stride = chunkSize + TAG_LENGTH;
  const batchChunks = pool.batchChunks(chunkSize);
  const want = (i: number): number => (i < objLast ? chunkSize : plainSize - objLast * chunkSize) + TAG_LENGTH;
  const fail = (why: string): CryptoError => new CryptoError('CRYPTO_AUTH_FAILED', why);
  let index = firstChunk; // first chunk of the batch being filled
  let count = 0; // chunks in that batch
  let need = 0; // its bytes
  let batch: Buffer | undefined;
  let filled = 0;
  let pos = 0; // plaintext offset (relative to firstChunk's start) of the next result
  let window: OrderedWindow;

  const start = (): void => {
    count = Math.min(batchChunks, lastChunk - index + 1);
    need = (count - 1) * stride + want(index + count - 1);
    batch = Buffer.allocUnsafeSlow(need);
    filled = 0;
  };

  const submit = (): void => {
    const job = {
      op: 'decrypt' as const,
      key: k,
      firstIndex: index,
      finalIndex: index + count - 1 === objLast ? objLast : -1,
      plainSize,
      chunkSize,
      lastPlainLength: 0,
    };
    window.add(pool.run(job, batch!.buffer as ArrayBuffer, need));
    batch = undefined;
    index += count;
  };

  const deliver = (stream: Transform, r: PoolResult): void => {
    const from = Math.max(skip, pos) - pos;
    const to = Math.min(skip + length, pos + r.length) - pos;
    if (to > from) stream.push(Buffer.from(r.buffer, from, to - from));
    pos += r.length;
    if (r.failedAt >= 0) stream.destroy(fail(r.message || `chunk ${r.failedAt} failed authentication`));
  };

  const stream = new Transform({
    transform(this: Transform, data: Buffer, _enc: BufferEncoding, cb: TransformCallback) {
      let off = 0;
      void (async () => {
        while (off < data.length) {
          if (index > lastChunk) {
            if (lastChunk === objLast) throw fail('unexpected data after the final chunk');
            break; // the caller read further than asked; those bytes are not ours to check
          }
          if (batch === undefined) start();
          const n = Math.min(need - filled, data.length - off);
          data.copy(batch!, filled, off, off + n);
          filled += n;
          off += n;
          if (filled === need) {
            submit();
            await window.room();
            if (this.destroyed) return;
          }
        }
        cb();
      })().catch((err: unknown) => cb(err as Error));
    },
    flush(this: Transform, cb: TransformCallback) {
      window.empty().then(() => {
        if (this.destroyed) return;
        batch?.fill(0);
        k.fill(0);
        if (index <= lastChunk) {
          cb(fail(`encrypted data is truncated: ended in chunk ${index}, expected up to chunk ${lastChunk}`));
          return;
        }
        cb();
      }, cb);
    },
    destroy(err, cb) {
      window.stop();
      batch?.fill(0);
      k.fill(0);
      cb(err);
    },
  });
  window = new OrderedWindow(
    pool.maxInFlightBatches,
    (r) => deliver(stream, r),
    (err) => stream.destroy(err as Error),
  );
  return stream;
}
