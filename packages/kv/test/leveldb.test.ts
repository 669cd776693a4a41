import assert from 'node:assert/strict';
import { mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { after, describe, it } from 'node:test';

import { LevelEngine, isKvError } from '../src/index.ts';
import { runEngineConformance } from '../src/testing.ts';

const dirs: string[] = [];
const locations = new WeakMap<object, string>();
after(async () => {
  for (const d of dirs) await rm(d, { recursive: true, force: true });
});

async function fresh(): Promise<LevelEngine> {
  const dir = await mkdtemp(join(tmpdir(), 'coffer-kv-'));
  dirs.push(dir);
  const engine = await LevelEngine.open(dir);
  locations.set(engine, dir);
  return engine;
}

runEngineConformance('leveldb', {
  open: fresh,
  async reopen(engine) {
    const dir = locations.get(engine)!;
    await engine.close();
    const again = await LevelEngine.open(dir);
    locations.set(again, dir);
    return again;
  },
});

describe('LevelEngine.open', () => {
  it('should check its options', async () => {
    await assert.rejects(
      LevelEngine.open('/nonexistent', { sync: 'yes' as unknown as boolean }),
      /options\.sync must be a boolean/,
    );
    await assert.rejects(
      LevelEngine.open('/nonexistent', { maxGroup: 0 }),
      /options\.maxGroup must be a positive whole number/,
    );
  });
});

describe('LevelEngine after a failed or stuck batch', () => {
  const b = (s: string) => Buffer.from(s);
  async function withEngine(
    opts: Parameters<typeof LevelEngine.open>[1],
    fn: (e: LevelEngine, dir: string) => Promise<void>,
  ) {
    const dir = await mkdtemp(join(tmpdir(), 'coffer-kv-fault-'));
    dirs.push(dir);
    const e = await LevelEngine.open(dir, opts);
    try {
      await fn(e, dir);
    } finally {
      await e.close();
    }
  }

  it('should fail the commit whose batch failed, write nothing of it, and take writes again once reopened', async () => {
    let fail = false;
    await withEngine(
      { batchHook: (write) => (fail ? Promise.reject(new Error('EIO (injected)')) : write()) },
      async (e, dir) => {
        await e.transact((tx) => tx.set(b('k/before'), b('1')));
        fail = true;
        await assert.rejects(
          e.transact((tx) => tx.set(b('k/failed'), b('2'))),
          (err) => isKvError(err, 'KV_IO'),
        );
        fail = false;
        for (let i = 0; i < 200 && e.recovering; i++) await new Promise((r) => setTimeout(r, 25));
        await e.transact((tx) => tx.set(b('k/after'), b('3')));
        assert.equal(await e.get(b('k/failed')), undefined);
        await e.close();
        const again = await LevelEngine.open(dir);
        try {
          assert.equal((await again.get(b('k/before')))?.toString(), '1');
          assert.equal(await again.get(b('k/failed')), undefined);
          assert.equal((await again.get(b('k/after')))?.toString(), '3');
        } finally {
          await again.close();
        }
      },
    );
  });

  it('should bound a stuck batch with KV_UNAVAILABLE, take no write until it settles, then recover', async () => {
    let release!: () => void;
    let stall = true;
    const hook = async (write: () => Promise<void>) => {
      if (stall)
        await new Promise<void>((r) => {
          release = r;
        });
      await write();
    };
    await withEngine({ commitTimeoutMs: 100, batchHook: hook }, async (e) => {
      await assert.rejects(
        e.transact((tx) => tx.set(b('s/1'), b('1'))),
        (err) => isKvError(err, 'KV_UNAVAILABLE'),
      );
      await assert.rejects(
        e.transact((tx) => tx.set(b('s/2'), b('2'))),
        (err) => isKvError(err, 'KV_UNAVAILABLE'),
      );
      stall = false;
      release();
      // The stuck write settles, then the engine reopens the database in the background.
      for (let i = 0; i < 200 && e.recovering; i++) await new Promise((r) => setTimeout(r, 25));
      assert.equal(e.recovering, false);
      await e.transact((tx) => tx.set(b('s/3'), b('3')));
      assert.equal((await e.get(b('s/3')))?.toString(), '3');
      assert.equal(await e.get(b('s/2')), undefined);
    });
  });
});
