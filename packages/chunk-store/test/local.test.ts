import assert from 'node:assert/strict';
import { mkdir, mkdtemp, readFile, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { Readable } from 'node:stream';
import { after, describe, it } from 'node:test';

import { type ChunkInfo, LocalChunkStore, newChunkId } from '../src/index.ts';
import { runChunkStoreConformance } from '../src/testing.ts';

const dirs: string[] = [];
after(async () => {
  for (const d of dirs) await rm(d, { recursive: true, force: true });
});

async function listAll(store: LocalChunkStore): Promise<ChunkInfo[]> {
  const out: ChunkInfo[] = [];
  for await (const info of store.list()) out.push(info);
  return out;
}

async function freshDir(): Promise<string> {
  const dir = await mkdtemp(join(tmpdir(), 'coffer-chunks-'));
  dirs.push(dir);
  return dir;
}

runChunkStoreConformance('local', {
  open: async () => LocalChunkStore.open({ dir: await freshDir() }),
  async reopen(store) {
    await store.close();
    return LocalChunkStore.open({ dir: (store as LocalChunkStore).dir });
  },
  async leaveIncomplete(store) {
    // a crashed write's temp file
    await writeFile(join((store as LocalChunkStore).dir, 'tmp', newChunkId()), 'half a blob');
  },
});

describe('LocalChunkStore', () => {
  it('should keep the chunk files of today: DATA/blobs/xx/yy/ID, the bytes as written', async () => {
    const dir = await freshDir();
    const store = await LocalChunkStore.open({ dir });
    const id = newChunkId();
    const data = Buffer.from('ciphertext as the chunk format writes it');
    await store.write(id, Readable.from([data]));
    assert.deepEqual(await readFile(join(dir, 'blobs', id.slice(0, 2), id.slice(2, 4), id)), data);
    await store.close();
  });

  it('should read a blob file written before the chunk store existed', async () => {
    const dir = await freshDir();
    const id = newChunkId();
    await mkdir(join(dir, 'blobs', id.slice(0, 2), id.slice(2, 4)), { recursive: true });
    await writeFile(join(dir, 'blobs', id.slice(0, 2), id.slice(2, 4), id), 'old bytes');
    const store = await LocalChunkStore.open({ dir });
    const parts: Buffer[] = [];
    for await (const b of await store.read(id, { start: 4, end: 9 })) parts.push(Buffer.from(b));
    assert.equal(Buffer.concat(parts).toString(), 'bytes');
    assert.deepEqual(
      (await listAll(store)).map((i) => [i.id, i.size]),
      [[id, 9]],
    );
    await store.close();
  });

  it('should list no stray file: only xx/yy/ID whose id starts with xx yy', async () => {
    const dir = await freshDir();
    const store = await LocalChunkStore.open({ dir });
    const id = newChunkId();
    await mkdir(join(dir, 'blobs', 'ff', 'ff'), { recursive: true });
    await writeFile(join(dir, 'blobs', 'ff', 'ff', id), 'misplaced');
    await writeFile(join(dir, 'blobs', 'ff', 'ff', 'notes.txt'), 'not a blob');
    assert.deepEqual(await listAll(store), []);
    await store.close();
  });

  it('should refuse bad options with a TypeError or RangeError naming the option', async () => {
    await assert.rejects(LocalChunkStore.open({ dir: '' }), /options.dir/);
    await assert.rejects(LocalChunkStore.open({ dir: 'x', sync: 1 as unknown as boolean }), /options.sync/);
    await assert.rejects(LocalChunkStore.open({ dir: 'x', writeBufferSize: 0 }), RangeError);
  });
});
