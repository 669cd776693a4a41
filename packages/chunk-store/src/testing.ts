/**
 * The conformance suite every chunk store runs (as `@coffer/kv/testing` for metadata engines): a few lines in a
 * store's test file, `runChunkStoreConformance('local', factory)`. It drives only the public contract.
 */
import assert from 'node:assert/strict';
import { createHash, randomBytes } from 'node:crypto';
import { after, before, describe, it } from 'node:test';

import { S3Client } from '@aws-sdk/client-s3';

import { isChunkStoreError } from './errors.ts';
import { newChunkId } from './ids.ts';
import type { S3ChunkStoreOptions } from './s3-options.ts';
import type { ChunkInfo, ChunkRange, ChunkStore } from './types.ts';

/**
 * A plain client of an S3 backend, configured as `S3ChunkStore` talks to it (path-style, no streaming checksums),
 * for tests that create its bucket or look at what the store wrote there.
 */
export function backendClient(opts: Pick<S3ChunkStoreOptions, 'endpoint' | 'region' | 'credentials'>): S3Client {
  return new S3Client({
    endpoint: opts.endpoint,
    region: opts.region ?? 'us-east-1',
    credentials: opts.credentials,
    forcePathStyle: true,
    requestChecksumCalculation: 'WHEN_REQUIRED',
  });
}

/** How the suite gets stores, and what it needs to cause for real. */
export interface ChunkStoreFactory {
  /** A new, empty store (its own directory, or its own bucket prefix). */
  open(): Promise<ChunkStore>;
  /** The same storage as `store`, through a new store, after closing `store` (blobs written are durable). */
  reopen(store: ChunkStore): Promise<ChunkStore>;
  /**
   * Leaves in `store`'s storage, now, what a write leaves when its process dies mid-way (a temp file, a multipart
   * upload), as another process would (not through `store`).
   */
  leaveIncomplete(store: ChunkStore): Promise<void>;
  /** Takes the backend down and brings it back, for stores that have one (the S3 store: radosgw stopped). */
  outage?: { stop(): Promise<void>; start(): Promise<void> };
}

/** `total` bytes of `pattern` in pieces of `piece` bytes, as a stream source. */
async function* pieces(data: Buffer, piece = 65_536): AsyncGenerator<Buffer> {
  for (let off = 0; off < data.length; off += piece) yield data.subarray(off, off + piece);
}

/** A source that yields `bytes` bytes, then fails with `err`. */
async function* failing(bytes: number, err: Error): AsyncGenerator<Buffer> {
  yield* pieces(randomBytes(bytes));
  throw err;
}

async function readAll(store: ChunkStore, id: string, range?: ChunkRange): Promise<{ size: number; data: Buffer }> {
  const reader = await store.read(id, range);
  const parts: Buffer[] = [];
  for await (const b of reader) parts.push(Buffer.from(b)); // a yielded buffer may be reused: copy it
  return { size: reader.size, data: Buffer.concat(parts) };
}

async function listed(store: ChunkStore): Promise<Map<string, ChunkInfo>> {
  const out = new Map<string, ChunkInfo>();
  for await (const info of store.list()) out.set(info.id, info);
  return out;
}

const sha = (b: Buffer) => createHash('sha256').update(b).digest('hex');

/** Registers the suite under `describe(name)`. */
export function runChunkStoreConformance(name: string, factory: ChunkStoreFactory): void {
  describe(`ChunkStore conformance: ${name}`, () => {
    let store: ChunkStore;
    const small = randomBytes(200_000);
    const smallId = newChunkId();
    before(async () => {
      store = await factory.open();
      assert.deepEqual(await store.write(smallId, pieces(small, 7_000)), { size: small.length });
    });
    after(async () => {
      await store.close();
    });

    it('should read back every byte written, and stat its size', async () => {
      const { size, data } = await readAll(store, smallId);
      assert.equal(size, small.length);
      assert.ok(data.equals(small));
      const info = await store.stat(smallId);
      assert.equal(info?.id, smallId);
      assert.equal(info?.size, small.length);
    });

    it('should read ranges at the edges: first byte, last byte, all, empty, past the end', async () => {
      const n = small.length;
      const cases: Array<[ChunkRange, Buffer]> = [
        [{ start: 0, end: 1 }, small.subarray(0, 1)],
        [{ start: n - 1, end: n }, small.subarray(n - 1)],
        [{ start: 0, end: n }, small],
        [{ start: 1, end: n - 1 }, small.subarray(1, n - 1)],
        [{ start: 5, end: 5 }, Buffer.alloc(0)],
        [{ start: n - 10, end: n + 1000 }, small.subarray(n - 10)],
        [{ start: n, end: n + 10 }, Buffer.alloc(0)],
        [{ start: n + 5, end: n + 10 }, Buffer.alloc(0)],
      ];
      for (const [range, want] of cases) {
        const { size, data } = await readAll(store, smallId, range);
        assert.equal(size, n, `size of ${JSON.stringify(range)}`);
        assert.ok(data.equals(want), `bytes of ${JSON.stringify(range)}: got ${data.length}, want ${want.length}`);
      }
    });

    it('should refuse a range with end before start, or negative, with a RangeError', async () => {
      await assert.rejects(store.read(smallId, { start: 5, end: 4 }), RangeError);
      await assert.rejects(store.read(smallId, { start: -1, end: 4 }), RangeError);
    });

    it('should store an empty blob', async () => {
      const id = newChunkId();
      assert.deepEqual(await store.write(id, pieces(Buffer.alloc(0))), { size: 0 });
      const { size, data } = await readAll(store, id);
      assert.equal(size, 0);
      assert.equal(data.length, 0);
      assert.equal((await listed(store)).get(id)?.size, 0);
    });

    it('should store a 20 MiB blob (several parts on S3) and read ranges across its parts', async () => {
      const big = randomBytes(20 * 1024 * 1024);
      const id = newChunkId();
      assert.deepEqual(await store.write(id, pieces(big)), { size: big.length });
      const all = await readAll(store, id);
      assert.equal(all.size, big.length);
      assert.equal(sha(all.data), sha(big));
      const mib = 1024 * 1024;
      for (const range of [
        { start: 8 * mib - 3, end: 8 * mib + 3 },
        { start: 5 * mib - 1, end: 17 * mib + 1 },
        { start: big.length - 65_552, end: big.length },
      ]) {
        const { data } = await readAll(store, id, range);
        assert.equal(sha(data), sha(big.subarray(range.start, range.end)), JSON.stringify(range));
      }
      await store.delete(id);
    });

    it('should pass the source stream error through and leave nothing, small or large', async () => {
      const before = await listed(store);
      for (const bytes of [100_000, 12 * 1024 * 1024]) {
        const id = newChunkId();
        const boom = new Error(`source failed after ${bytes} bytes`);
        await assert.rejects(store.write(id, failing(bytes, boom)), (err) => err === boom);
        assert.equal(await store.stat(id), undefined);
        await assert.rejects(store.read(id), (err) => isChunkStoreError(err, 'CHUNKS_NOT_FOUND'));
      }
      assert.deepEqual([...(await listed(store)).keys()].sort(), [...before.keys()].sort());
      assert.equal(await store.sweepIncomplete(), 0, 'no unfinished write is left behind');
    });

    it('should stop a write when its signal aborts, and leave nothing', async () => {
      const id = newChunkId();
      const ac = new AbortController();
      async function* slow(): AsyncGenerator<Buffer> {
        yield randomBytes(65_536);
        ac.abort();
        yield randomBytes(65_536);
      }
      await assert.rejects(store.write(id, slow(), { signal: ac.signal }), { name: 'AbortError' });
      assert.equal(await store.stat(id), undefined);
      assert.equal((await listed(store)).has(id), false);
    });

    it('should delete, and deleting twice or a blob never written is no error', async () => {
      const id = newChunkId();
      await store.write(id, pieces(randomBytes(1000)));
      await store.delete(id);
      await store.delete(id);
      await store.delete(newChunkId());
      assert.equal(await store.stat(id), undefined);
      assert.equal((await listed(store)).has(id), false);
      await assert.rejects(store.read(id), (err) => isChunkStoreError(err, 'CHUNKS_NOT_FOUND'));
    });

    it('should list every blob with its size and time', async () => {
      const since = Date.now() - 60_000; // generous: the backend's clock, not a measured duration
      const ids = [newChunkId(), newChunkId(), newChunkId()];
      for (const [i, id] of ids.entries()) await store.write(id, pieces(randomBytes(1000 * (i + 1))));
      const all = await listed(store);
      for (const [i, id] of ids.entries()) {
        assert.equal(all.get(id)?.size, 1000 * (i + 1));
        assert.ok(all.get(id)!.lastModified.getTime() >= since);
      }
      assert.equal(all.get(smallId)?.size, small.length);
      for (const id of ids) await store.delete(id);
    });

    it('should write blobs concurrently', async () => {
      const blobs = Array.from({ length: 8 }, () => ({ id: newChunkId(), data: randomBytes(600_000) }));
      await Promise.all(blobs.map((b) => store.write(b.id, pieces(b.data))));
      for (const b of blobs) assert.ok((await readAll(store, b.id)).data.equals(b.data));
      await Promise.all(blobs.map((b) => store.delete(b.id)));
    });

    it('should let a read be closed before or during its iteration', async () => {
      const unread = await store.read(smallId);
      await unread.close();
      const reader = await store.read(smallId);
      for await (const _ of reader) break;
      assert.ok((await readAll(store, smallId)).data.equals(small));
    });

    it('should refuse ids that are not blob ids with a TypeError', async () => {
      for (const bad of ['../../etc/passwd', 'A'.repeat(32), 'abc', `${'a'.repeat(31)}/`, '']) {
        await assert.rejects(store.write(bad, pieces(Buffer.from('x'))), TypeError);
        await assert.rejects(store.read(bad), TypeError);
        await assert.rejects(store.delete(bad), TypeError);
      }
    });

    it('should sweep what an unfinished write left behind, only when old enough', async () => {
      await factory.leaveIncomplete(store);
      assert.equal(await store.sweepIncomplete({ olderThan: new Date(Date.now() - 3_600_000) }), 0);
      let told = 0;
      assert.equal(await store.sweepIncomplete({ beforeRemove: () => told++ }), 1);
      assert.equal(told, 1);
      assert.equal(await store.sweepIncomplete(), 0);
      assert.ok((await readAll(store, smallId)).data.equals(small));
    });

    it('should keep blobs across a reopen', async () => {
      store = await factory.reopen(store);
      assert.ok((await readAll(store, smallId)).data.equals(small));
    });

    if (factory.outage) {
      const outage = factory.outage;
      it('should fail with CHUNKS_UNAVAILABLE while the backend is down, and work again once it is back', async () => {
        await outage.stop();
        try {
          const down = (err: unknown) => isChunkStoreError(err, 'CHUNKS_UNAVAILABLE');
          await assert.rejects(store.write(newChunkId(), pieces(randomBytes(1000))), down);
          await assert.rejects(store.read(smallId), down);
          await assert.rejects(store.stat(smallId), down);
          await assert.rejects(listed(store), down);
        } finally {
          await outage.start();
        }
        const id = newChunkId();
        const data = randomBytes(5000);
        await store.write(id, pieces(data));
        assert.ok((await readAll(store, id)).data.equals(data));
        assert.ok((await readAll(store, smallId)).data.equals(small));
      });
    }

    it('should refuse every call after close with CHUNKS_CLOSED', async () => {
      const other = await factory.reopen(store);
      store = other;
      await other.close();
      await other.close();
      const closed = (err: unknown) => isChunkStoreError(err, 'CHUNKS_CLOSED');
      await assert.rejects(other.write(newChunkId(), pieces(Buffer.from('x'))), closed);
      await assert.rejects(other.read(smallId), closed);
      await assert.rejects(other.delete(smallId), closed);
      await assert.rejects(listed(other), closed);
    });
  });
}
