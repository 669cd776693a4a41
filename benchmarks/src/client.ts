/**
 * The lean load client: an undici Pool per server and @coffer/sigv4's signRequest (UNSIGNED-PAYLOAD, so no body is
 * hashed on the client). Bodies come from one preallocated buffer: small ones are a view of it, large ones are
 * streamed as repeated views of it, so the client never holds more than that buffer whatever the object size.
 */
import { randomBytes } from 'node:crypto';
import { Readable } from 'node:stream';

import { Pool } from 'undici';

import { signRequest } from '@coffer/sigv4';

import type { RunningServer } from './servers.ts';

/** The one body buffer (random, so nothing compresses or dedups it). */
export const BODY = randomBytes(8 * 1024 * 1024);

/** A failed S3 request. */
export class S3RequestError extends Error {
  constructor(
    readonly status: number,
    readonly code: string,
    message: string,
  ) {
    super(message);
  }
}

/** Streams `size` bytes as views of BODY. */
async function* bodyStream(size: number): AsyncGenerator<Buffer> {
  let left = size;
  while (left > 0) {
    const n = Math.min(left, 1024 * 1024);
    left -= n;
    yield BODY.subarray(0, n);
  }
}

/** A signed S3 client for one server (of one or more nodes: requests go round them). */
export class S3Client {
  readonly #pools: Pool[];
  readonly #server: RunningServer;
  #next = 0;

  constructor(server: RunningServer, connections: number) {
    this.#server = server;
    this.#pools = server.urls.map(
      (url) =>
        new Pool(url, {
          connections,
          pipelining: 1,
          keepAliveTimeout: 60_000,
          headersTimeout: 600_000,
          bodyTimeout: 600_000,
        }),
    );
  }

  async #send(
    method: string,
    pathAndQuery: string,
    opts: { size?: number; body?: Buffer | string } = {},
  ): Promise<{ status: number; text?: string; bytes: number; etag?: string }> {
    const node = this.#next++ % this.#pools.length;
    const url = new URL(pathAndQuery, this.#server.urls[node]);
    const size =
      typeof opts.body === 'string' ? Buffer.byteLength(opts.body) : opts.body ? opts.body.length : opts.size;
    const headers: Record<string, string> = {};
    if (size !== undefined) headers['content-length'] = String(size);
    const signed = signRequest({
      method,
      url,
      headers,
      body: 'UNSIGNED-PAYLOAD',
      accessKeyId: this.#server.accessKeyId,
      secretAccessKey: this.#server.secretAccessKey,
    });
    let body: Buffer | string | Readable | undefined = opts.body;
    if (body === undefined && size !== undefined && size > 0)
      body = size <= BODY.length ? BODY.subarray(0, size) : Readable.from(bodyStream(size), { objectMode: false });
    const res = await this.#pools[node]!.request({
      method: method as 'GET',
      path: url.pathname + url.search,
      headers: signed,
      body,
    });
    const etag = typeof res.headers.etag === 'string' ? res.headers.etag : undefined;
    if (res.statusCode >= 300 || method !== 'GET') {
      const text = await res.body.text();
      if (res.statusCode >= 300) {
        const code = /<Code>([^<]*)<\/Code>/.exec(text)?.[1] ?? String(res.statusCode);
        throw new S3RequestError(
          res.statusCode,
          code,
          `${method} ${url.pathname}${url.search}: ${res.statusCode} ${code}`,
        );
      }
      return { status: res.statusCode, text, bytes: 0, etag };
    }
    let bytes = 0;
    for await (const chunk of res.body) bytes += (chunk as Buffer).length;
    return { status: res.statusCode, bytes, etag };
  }

  /** PUT /bucket (an existing bucket of ours is fine). */
  async createBucket(bucket: string): Promise<void> {
    try {
      await this.#send('PUT', `/${bucket}`, { size: 0 });
    } catch (err) {
      if (
        !(
          err instanceof S3RequestError &&
          (err.code === 'BucketAlreadyOwnedByYou' || err.code === 'BucketAlreadyExists')
        )
      )
        throw err;
    }
  }

  /** PUT an object of `size` bytes. */
  async put(bucket: string, key: string, size: number): Promise<void> {
    await this.#send('PUT', `/${bucket}/${encodeURIComponent(key)}`, { size });
  }

  /** GET an object; returns the bytes read. */
  async get(bucket: string, key: string): Promise<number> {
    return (await this.#send('GET', `/${bucket}/${encodeURIComponent(key)}`)).bytes;
  }

  /**
   * A multipart upload of `size` bytes in `parts` equal parts, all in flight at once. Throws S3RequestError with
   * code NotImplemented when the server has no multipart.
   */
  async multipartPut(bucket: string, key: string, size: number, parts: number): Promise<void> {
    const p = `/${bucket}/${encodeURIComponent(key)}`;
    const init = await this.#send('POST', `${p}?uploads`, { size: 0 });
    const uploadId = /<UploadId>([^<]+)<\/UploadId>/.exec(init.text ?? '')?.[1];
    if (!uploadId) throw new S3RequestError(500, 'BadResponse', 'no UploadId in CreateMultipartUpload response');
    const partSize = Math.ceil(size / parts);
    const etags = await Promise.all(
      Array.from({ length: parts }, async (_, i) => {
        const n = Math.min(partSize, size - i * partSize);
        const r = await this.#send('PUT', `${p}?partNumber=${i + 1}&uploadId=${encodeURIComponent(uploadId)}`, {
          size: n,
        });
        return r.etag ?? '""';
      }),
    );
    const xml = `<CompleteMultipartUpload>${etags.map((e, i) => `<Part><PartNumber>${i + 1}</PartNumber><ETag>${e}</ETag></Part>`).join('')}</CompleteMultipartUpload>`;
    const done = await this.#send('POST', `${p}?uploadId=${encodeURIComponent(uploadId)}`, { body: xml });
    if (/<Error>/.test(done.text ?? ''))
      throw new S3RequestError(
        500,
        /<Code>([^<]*)/.exec(done.text!)?.[1] ?? 'InternalError',
        'CompleteMultipartUpload failed',
      );
  }

  async close(): Promise<void> {
    await Promise.all(this.#pools.map((p) => p.close()));
  }
}
