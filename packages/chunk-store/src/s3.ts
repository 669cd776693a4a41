import { Agent as HttpAgent } from 'node:http';
import { Agent as HttpsAgent } from 'node:https';
import type { Readable } from 'node:stream';
import { setTimeout as sleep } from 'node:timers/promises';

import {
  AbortMultipartUploadCommand,
  CompleteMultipartUploadCommand,
  CreateMultipartUploadCommand,
  DeleteObjectCommand,
  GetObjectCommand,
  type GetObjectCommandOutput,
  HeadBucketCommand,
  HeadObjectCommand,
  ListMultipartUploadsCommand,
  ListObjectsV2Command,
  PutObjectCommand,
  S3Client,
  UploadPartCommand,
} from '@aws-sdk/client-s3';

import { ChunkStoreError } from './errors.ts';
import { checkChunkId, chunkPath, idOfPath } from './ids.ts';
import { checkRange } from './range.ts';
import { type ResolvedS3Options, resolveS3Options, type S3ChunkStoreOptions } from './s3-options.ts';
import { isMissing, isTransient, s3Error, statusOf } from './s3-errors.ts';
import type { ChunkCallOptions, ChunkInfo, ChunkRange, ChunkReader, ChunkStore, SweepOptions } from './types.ts';

/** First wait before a read resumes after its body broke; doubled per attempt, with jitter. */
const RESUME_BACKOFF_MS = 100;

/**
 * Blobs in an S3-compatible backend (AWS S3, Ceph radosgw, …): one backend object per blob, named
 * `PREFIX/xx/yy/ID` from the blob id alone, so that no bucket name or object key of Coffer's clients ever reaches
 * the backend; only ciphertext does. Large blobs go up as multipart uploads; reads are ranged GETs streamed to the
 * caller. Requests share a bounded pool of kept-alive connections and are retried with backoff on 5xx, throttling
 * and connection failures (every request is safe to repeat: bodies are buffers, names never reused); a backend that
 * stays down fails them with `CHUNKS_UNAVAILABLE`, and the same store works again once it is back.
 */
export class S3ChunkStore implements ChunkStore {
  readonly #opts: ResolvedS3Options;
  readonly #client: S3Client;
  /** Upload ids of this store's multipart writes in progress: the sweep leaves them alone. */
  readonly #uploading = new Set<string>();
  #closed = false;

  private constructor(opts: ResolvedS3Options) {
    this.#opts = opts;
    const agent = { keepAlive: true, maxSockets: opts.maxSockets };
    this.#client = new S3Client({
      endpoint: opts.endpoint,
      region: opts.region,
      credentials: opts.credentials,
      forcePathStyle: true,
      // radosgw refuses the SDK's default streaming checksums (aws-chunked with a trailer): send plain bodies.
      // Integrity is the chunk format's: every chunk is authenticated (AES-GCM) when it is read.
      requestChecksumCalculation: 'WHEN_REQUIRED',
      responseChecksumValidation: 'WHEN_REQUIRED',
      maxAttempts: opts.maxAttempts,
      retryMode: 'standard',
      requestHandler: {
        httpAgent: new HttpAgent(agent),
        httpsAgent: new HttpsAgent(agent),
        connectionTimeout: opts.connectTimeoutMs,
        requestTimeout: opts.requestTimeoutMs,
      },
    });
  }

  /**
   * Checks the options, and that the bucket answers: `CHUNKS_UNAVAILABLE` if the backend is down, `CHUNKS_IO` if it
   * refuses (no such bucket, wrong credentials).
   */
  static async open(options: S3ChunkStoreOptions): Promise<S3ChunkStore> {
    const store = new S3ChunkStore(resolveS3Options(options));
    try {
      const head = new HeadBucketCommand({ Bucket: store.#opts.bucket });
      await store.#call('checking the bucket', () => store.#client.send(head));
    } catch (err) {
      store.#client.destroy();
      throw err;
    }
    return store;
  }

  /** Where the blobs are, for messages: `s3://BUCKET/PREFIX` at the endpoint (no credential). */
  get location(): string {
    return `s3://${this.#opts.bucket}/${this.#opts.prefix} at ${this.#opts.endpoint}`;
  }

  /** The backend object name of blob `id`. */
  key(id: string): string {
    return this.#opts.prefix + chunkPath(checkChunkId(id));
  }

  async write(id: string, source: AsyncIterable<Uint8Array>, opts: ChunkCallOptions = {}): Promise<{ size: number }> {
    this.#checkOpen();
    const Key = this.key(id);
    const Bucket = this.#opts.bucket;
    const { signal } = opts;
    signal?.throwIfAborted();
    const parts = cut(source, this.#opts.partSize)[Symbol.asyncIterator]();
    let cur = await parts.next();
    const next = cur.done ? cur : await parts.next();
    signal?.throwIfAborted();
    if (next.done) {
      const Body = cur.value ?? Buffer.alloc(0);
      try {
        const put = new PutObjectCommand({ Bucket, Key, Body, ContentLength: Body.length });
        await this.#call('writing a blob', () => this.#client.send(put, { abortSignal: signal }));
      } catch (err) {
        // an abort may have let the PUT land after all: the id is never used again, so remove it (best effort)
        await this.delete(id).catch(() => undefined);
        throw err;
      }
      return { size: Body.length };
    }
    const create = new CreateMultipartUploadCommand({ Bucket, Key });
    const { UploadId } = await this.#call('writing a blob', () => this.#client.send(create, { abortSignal: signal }));
    if (!UploadId) throw new ChunkStoreError('CHUNKS_IO', 'writing a blob: the backend gave no upload id');
    this.#uploading.add(UploadId);
    const inFlight = new Set<Promise<void>>();
    const etags: string[] = [];
    let size = 0;
    try {
      let pending: IteratorResult<Buffer, void> | undefined = next;
      for (let n = 1; !cur.done; n++) {
        const Body = cur.value;
        const PartNumber = n;
        size += Body.length;
        const upload = new UploadPartCommand({ Bucket, Key, UploadId, PartNumber, Body, ContentLength: Body.length });
        const p = this.#call('writing a blob', () => this.#client.send(upload, { abortSignal: signal })).then((out) => {
          etags[PartNumber - 1] = out.ETag ?? '';
        });
        inFlight.add(p);
        p.then(
          () => inFlight.delete(p),
          () => undefined,
        );
        // backpressure: the source is read on only while fewer than partConcurrency parts are on their way
        if (inFlight.size >= this.#opts.partConcurrency) await Promise.race(inFlight);
        cur = pending ?? (await parts.next());
        pending = undefined;
        signal?.throwIfAborted();
      }
      await Promise.all(inFlight);
      const Parts = etags.map((ETag, i) => ({ ETag, PartNumber: i + 1 }));
      const complete = new CompleteMultipartUploadCommand({ Bucket, Key, UploadId, MultipartUpload: { Parts } });
      await this.#call('writing a blob', () => this.#client.send(complete, { abortSignal: signal }));
      return { size };
    } catch (err) {
      await Promise.allSettled(inFlight);
      // best effort: what an abort cannot remove now, sweepIncomplete() removes later
      const abort = new AbortMultipartUploadCommand({ Bucket, Key, UploadId });
      await this.#client.send(abort).catch(() => undefined);
      throw err;
    } finally {
      this.#uploading.delete(UploadId);
      await parts.return?.();
    }
  }

  async read(id: string, range?: ChunkRange, opts: ChunkCallOptions = {}): Promise<ChunkReader> {
    this.#checkOpen();
    const key = this.key(id);
    checkRange(range);
    const start = range?.start ?? 0;
    const end = range?.end;
    if (end !== undefined && end <= start) return this.#emptyRead(id, opts.signal);
    const out = await this.#get(key, start, end, opts.signal);
    // a range that starts at or past the end (S3: 416): the blob's size alone, as a local file would answer
    if (out === undefined) return this.#emptyRead(id, opts.signal);
    const size = totalSize(out);
    const stop = Math.min(end ?? size, size);
    const again = async (pos: number) => {
      const more = await this.#get(key, pos, stop, opts.signal);
      if (more === undefined) throw new ChunkStoreError('CHUNKS_IO', 'reading a blob: it became shorter');
      return more;
    };
    return new S3Reader(out.Body as Readable, size, start, stop, again, {
      attempts: this.#opts.maxAttempts,
      signal: opts.signal,
    });
  }

  async stat(id: string, opts: ChunkCallOptions = {}): Promise<ChunkInfo | undefined> {
    this.#checkOpen();
    const cmd = new HeadObjectCommand({ Bucket: this.#opts.bucket, Key: this.key(id) });
    try {
      const out = await this.#client.send(cmd, { abortSignal: opts.signal });
      return { id, size: out.ContentLength ?? 0, lastModified: out.LastModified ?? new Date(0) };
    } catch (err) {
      if (isMissing(err)) return undefined;
      throw s3Error('stat of a blob', err);
    }
  }

  async delete(id: string): Promise<void> {
    this.#checkOpen();
    const cmd = new DeleteObjectCommand({ Bucket: this.#opts.bucket, Key: this.key(id) });
    await this.#call('deleting a blob', () => this.#client.send(cmd));
  }

  async *list(opts: ChunkCallOptions = {}): AsyncGenerator<ChunkInfo, void, undefined> {
    this.#checkOpen();
    const { bucket: Bucket, prefix: Prefix } = this.#opts;
    let ContinuationToken: string | undefined;
    do {
      const cmd = new ListObjectsV2Command({ Bucket, Prefix, ContinuationToken, MaxKeys: 1000 });
      const page = await this.#call('listing blobs', () => this.#client.send(cmd, { abortSignal: opts.signal }));
      for (const o of page.Contents ?? []) {
        const id = o.Key === undefined ? undefined : idOfPath(o.Key.slice(Prefix.length));
        if (id !== undefined) yield { id, size: o.Size ?? 0, lastModified: o.LastModified ?? new Date(0) };
      }
      ContinuationToken = page.IsTruncated ? page.NextContinuationToken : undefined;
    } while (ContinuationToken);
  }

  /** Aborts multipart uploads under the prefix (a crashed node's) begun before `olderThan` (default: any). */
  async sweepIncomplete({ olderThan, beforeRemove }: SweepOptions = {}): Promise<number> {
    this.#checkOpen();
    const { bucket: Bucket, prefix: Prefix } = this.#opts;
    let removed = 0;
    let KeyMarker: string | undefined;
    let UploadIdMarker: string | undefined;
    for (;;) {
      const cmd = new ListMultipartUploadsCommand({ Bucket, Prefix, KeyMarker, UploadIdMarker });
      const page = await this.#call('listing unfinished writes', () => this.#client.send(cmd));
      for (const u of page.Uploads ?? []) {
        if (!u.Key || !u.UploadId || this.#uploading.has(u.UploadId)) continue;
        if (idOfPath(u.Key.slice(Prefix.length)) === undefined) continue;
        if (olderThan !== undefined && (u.Initiated?.getTime() ?? 0) >= olderThan.getTime()) continue;
        beforeRemove?.();
        const abort = new AbortMultipartUploadCommand({ Bucket, Key: u.Key, UploadId: u.UploadId });
        await this.#call('removing an unfinished write', () => this.#client.send(abort));
        removed++;
      }
      if (!page.IsTruncated) return removed;
      KeyMarker = page.NextKeyMarker;
      UploadIdMarker = page.NextUploadIdMarker;
    }
  }

  async close(): Promise<void> {
    if (this.#closed) return;
    this.#closed = true;
    this.#client.destroy();
  }

  #checkOpen(): void {
    if (this.#closed) throw new ChunkStoreError('CHUNKS_CLOSED', 'the chunk store is closed');
  }

  /** Runs a request (the client retries transient failures), mapping what still fails (s3-errors.ts). */
  async #call<T>(what: string, request: () => Promise<T>): Promise<T> {
    try {
      return await request();
    } catch (err) {
      throw s3Error(what, err);
    }
  }

  /**
   * GET of [start, end) (end undefined: to the end of the blob); `undefined` if `start` is at or past its end,
   * `CHUNKS_NOT_FOUND` if it is not there.
   */
  async #get(
    Key: string,
    start: number,
    end: number | undefined,
    signal?: AbortSignal,
  ): Promise<GetObjectCommandOutput | undefined> {
    const Range = start === 0 && end === undefined ? undefined : `bytes=${start}-${end === undefined ? '' : end - 1}`;
    try {
      return await this.#client.send(new GetObjectCommand({ Bucket: this.#opts.bucket, Key, Range }), {
        abortSignal: signal,
      });
    } catch (err) {
      if (statusOf(err) === 416) return undefined;
      if (isMissing(err)) throw new ChunkStoreError('CHUNKS_NOT_FOUND', 'reading a blob: no such blob', { cause: err });
      throw s3Error('reading a blob', err);
    }
  }

  /** A read of no bytes: the blob's size only. */
  async #emptyRead(id: string, signal?: AbortSignal): Promise<ChunkReader> {
    const info = await this.stat(id, { signal });
    if (info === undefined) throw new ChunkStoreError('CHUNKS_NOT_FOUND', 'reading a blob: no such blob');
    return new S3Reader(undefined, info.size, 0, 0, undefined, { attempts: 0 });
  }
}

/** The whole object's size from a GET answer: `Content-Range: bytes a-b/SIZE`, else its `Content-Length`. */
function totalSize(out: GetObjectCommandOutput): number {
  const m = /\/(\d+)$/.exec(out.ContentRange ?? '');
  const size = m ? Number(m[1]) : out.ContentLength;
  if (size === undefined || !Number.isSafeInteger(size)) {
    throw new ChunkStoreError('CHUNKS_IO', 'reading a blob: the backend did not say its size');
  }
  return size;
}

/** The bytes of `source` in buffers of exactly `size` bytes (the last one shorter; none for an empty source). */
async function* cut(source: AsyncIterable<Uint8Array>, size: number): AsyncGenerator<Buffer, void, undefined> {
  let buf = Buffer.allocUnsafe(size);
  let filled = 0;
  for await (const chunk of source) {
    let off = 0;
    while (off < chunk.length) {
      const n = Math.min(size - filled, chunk.length - off);
      buf.set(chunk.subarray(off, off + n), filled);
      filled += n;
      off += n;
      if (filled === size) {
        yield buf;
        buf = Buffer.allocUnsafe(size);
        filled = 0;
      }
    }
  }
  if (filled > 0) yield buf.subarray(0, filled);
}

/**
 * The body of a ranged GET. A body that breaks mid-way (a reset, the gateway's crash) is asked again from the byte
 * reached, up to `attempts` times with backoff: blobs never change, so the bytes are the same.
 */
class S3Reader implements ChunkReader {
  #body: Readable | undefined;
  readonly #start: number;
  readonly #end: number;
  readonly #again: ((pos: number) => Promise<GetObjectCommandOutput>) | undefined;
  readonly #attempts: number;
  readonly #signal: AbortSignal | undefined;
  #closed = false;

  constructor(
    body: Readable | undefined,
    readonly size: number,
    start: number,
    end: number,
    again: ((pos: number) => Promise<GetObjectCommandOutput>) | undefined,
    opts: { attempts: number; signal?: AbortSignal },
  ) {
    this.#body = body;
    this.#start = start;
    this.#end = end;
    this.#again = again;
    this.#attempts = opts.attempts;
    this.#signal = opts.signal;
  }

  async close(): Promise<void> {
    this.#closed = true;
    this.#body?.destroy();
  }

  async *[Symbol.asyncIterator](): AsyncGenerator<Buffer, void, undefined> {
    let pos = this.#start;
    let failures = 0;
    try {
      while (this.#body !== undefined && !this.#closed) {
        try {
          for await (const chunk of this.#body) {
            pos += (chunk as Buffer).length;
            yield chunk as Buffer;
          }
          return;
        } catch (err) {
          if (this.#closed) return;
          this.#signal?.throwIfAborted();
          if (!isTransient(err) || pos >= this.#end || ++failures >= this.#attempts || !this.#again) {
            throw s3Error('reading a blob', err);
          }
          await sleep(RESUME_BACKOFF_MS * 2 ** (failures - 1) * (0.5 + Math.random()), undefined, {
            signal: this.#signal,
          });
          this.#body = (await this.#again(pos)).Body as Readable;
        }
      }
    } finally {
      await this.close();
    }
  }
}
