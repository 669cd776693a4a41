/**
 * The conformance suite every metadata engine runs (as lakeFS's `kvtest` and abstract-level's suite): two lines in
 * an engine's test file, `runEngineConformance('leveldb', { open, reopen })`. It drives only the public contract.
 */
import assert from 'node:assert/strict';
import { after, before, describe, it } from 'node:test';

import { isKvError } from './errors.ts';
import type { KvEngine, KvEntry, KvTransaction } from './types.ts';

/** How the suite gets engines. */
export interface EngineFactory {
  /** A new, empty engine (its own directory or database). */
  open(): Promise<KvEngine>;
  /** The same storage as `engine`, after closing it (checks that commits are persistent). */
  reopen(engine: KvEngine): Promise<KvEngine>;
}

const b = (s: string) => Buffer.from(s, 'utf8');
const s = (buf: Buffer | undefined) => buf?.toString('utf8');

async function collect(it: AsyncIterable<KvEntry>): Promise<string[]> {
  const out: string[] = [];
  for await (const e of it) out.push(`${e.key.toString('utf8')}=${e.value.toString('utf8')}`);
  return out;
}

/** Registers the suite under `describe(name)`. */
export function runEngineConformance(name: string, factory: EngineFactory): void {
  describe(`KvEngine conformance: ${name}`, () => {
    let db: KvEngine;
    before(async () => {
      db = await factory.open();
    });
    after(async () => {
      await db.close();
    });
    const put = (entries: Record<string, string>) =>
      db.transact((tx) => {
        for (const [k, v] of Object.entries(entries)) tx.set(b(k), b(v));
      });

    it('should get what a transaction set, and undefined for a key never set', async () => {
      await put({ 'get/a': '1' });
      assert.equal(s(await db.get(b('get/a'))), '1');
      assert.equal(await db.get(b('get/missing')), undefined);
    });

    it('should keep every byte of binary keys and values', async () => {
      const key = Buffer.from([0x62, 0x69, 0x6e, 0x2f, 0x00, 0xff, 0x80, 0x01]);
      const value = Buffer.from(Array.from({ length: 256 }, (_, i) => i));
      await db.transact((tx) => tx.set(key, value));
      assert.deepEqual(await db.get(key), value);
      assert.equal(await db.get(key.subarray(0, 7)), undefined);
    });

    it('should keep a value of 1 MiB', async () => {
      const value = Buffer.alloc(1 << 20, 7);
      await db.transact((tx) => tx.set(b('big/1'), value));
      assert.deepEqual(await db.get(b('big/1')), value);
    });

    it('should refuse an empty key with a TypeError', async () => {
      await assert.rejects(
        db.transact((tx) => tx.set(Buffer.alloc(0), b('x'))),
        TypeError,
      );
      await assert.rejects(async () => db.get(Buffer.alloc(0)), TypeError);
    });

    it('should delete, and treat deleting a missing key as nothing', async () => {
      await put({ 'del/a': '1' });
      await db.transact((tx) => {
        tx.delete(b('del/a'));
        tx.delete(b('del/never'));
      });
      assert.equal(await db.get(b('del/a')), undefined);
    });

    it('should scan in unsigned byte order (a/Z < a/b/x < a/~ < a/é), as S3 lists UTF-8 keys', async () => {
      await put({
        'ord/a/é': '4',
        'ord/a/~': '3',
        'ord/a/b/x': '2',
        'ord/a/Z': '1',
        'ord/a/\u{1F600}': '6',
        'ord/a/\uFFFD': '5',
      });
      assert.deepEqual(await collect(db.scan({ gte: b('ord/'), lt: b('ord0') })), [
        'ord/a/Z=1',
        'ord/a/b/x=2',
        'ord/a/~=3',
        'ord/a/é=4',
        'ord/a/\uFFFD=5',
        'ord/a/\u{1F600}=6',
      ]);
    });

    it('should honour gt, gte, lt, lte and limit', async () => {
      await put({ 'rng/1': 'a', 'rng/2': 'b', 'rng/3': 'c', 'rng/4': 'd' });
      assert.deepEqual(await collect(db.scan({ gt: b('rng/1'), lte: b('rng/3') })), ['rng/2=b', 'rng/3=c']);
      assert.deepEqual(await collect(db.scan({ gte: b('rng/1'), lt: b('rng/3') })), ['rng/1=a', 'rng/2=b']);
      assert.deepEqual(await collect(db.scan({ gte: b('rng/'), lt: b('rng0'), limit: 3 })), [
        'rng/1=a',
        'rng/2=b',
        'rng/3=c',
      ]);
      assert.deepEqual(await collect(db.scan({ gte: b('rng/'), lt: b('rng0'), limit: 0 })), []);
      assert.throws(() => db.scan({ gt: b('a'), gte: b('a') }), TypeError);
    });

    it('should scan more entries than one page holds', async () => {
      await db.transact((tx) => {
        for (let i = 0; i < 600; i++) tx.set(b(`page/${String(i).padStart(4, '0')}`), b(String(i)));
      });
      const got = await collect(db.scan({ gte: b('page/'), lt: b('page0') }));
      assert.equal(got.length, 600);
      assert.equal(got[0], 'page/0000=0');
      assert.equal(got[599], 'page/0599=599');
      assert.equal(
        (await collect(db.scan({ gt: b('page/0100'), lt: b('page0'), limit: 300 }))).at(-1),
        'page/0400=400',
      );
    });

    it('should let a transaction read its own writes, in get and in scan', async () => {
      await put({ 'ryw/1': 'old', 'ryw/2': 'two', 'ryw/3': 'three' });
      const seen = await db.transact(async (tx) => {
        tx.set(b('ryw/1'), b('new'));
        tx.delete(b('ryw/2'));
        tx.set(b('ryw/0'), b('zero'));
        tx.set(b('ryw/9'), b('nine'));
        return {
          one: s(await tx.get(b('ryw/1'))),
          two: await tx.get(b('ryw/2')),
          all: await collect(tx.scan({ gte: b('ryw/'), lt: b('ryw0') })),
          limited: await collect(tx.scan({ gte: b('ryw/'), lt: b('ryw0'), limit: 2 })),
        };
      });
      assert.equal(seen.one, 'new');
      assert.equal(seen.two, undefined);
      assert.deepEqual(seen.all, ['ryw/0=zero', 'ryw/1=new', 'ryw/3=three', 'ryw/9=nine']);
      assert.deepEqual(seen.limited, ['ryw/0=zero', 'ryw/1=new']);
      assert.deepEqual(await collect(db.scan({ gte: b('ryw/'), lt: b('ryw0') })), seen.all);
    });

    it('should write nothing of a transaction whose callback throws, and pass its error through', async () => {
      const boom = new Error('boom');
      await assert.rejects(
        db.transact(async (tx) => {
          tx.set(b('atom/1'), b('x'));
          tx.set(b('atom/2'), b('y'));
          throw boom;
        }),
        (err) => err === boom,
      );
      assert.equal(await db.get(b('atom/1')), undefined);
      assert.equal(await db.get(b('atom/2')), undefined);
    });

    it('should commit concurrent transactions beside one that throws, without its writes', async () => {
      const boom = new Error('boom');
      const [a, thrown, c] = await Promise.allSettled([
        db.transact((tx) => tx.set(b('mixed/a'), b('1'))),
        db.transact(async (tx) => {
          tx.set(b('mixed/b'), b('2'));
          throw boom;
        }),
        db.transact(async (tx) => tx.set(b('mixed/c'), b(`${s(await tx.get(b('mixed/b'))) ?? 'no b'}`))),
      ]);
      assert.deepEqual([a.status, thrown.status, c.status], ['fulfilled', 'rejected', 'fulfilled']);
      assert.equal((thrown as PromiseRejectedResult).reason, boom);
      assert.deepEqual(await collect(db.scan({ gte: b('mixed/'), lt: b('mixed0') })), ['mixed/a=1', 'mixed/c=no b']);
    });

    it('should resolve with what the callback returned', async () => {
      assert.equal(await db.transact(() => 42), 42);
    });

    it('should let exactly one of 20 concurrent create-if-absent transactions win', async () => {
      const results = await Promise.all(
        Array.from({ length: 20 }, (_, i) =>
          db.transact(async (tx) => {
            if ((await tx.get(b('race/once'))) !== undefined) return false;
            tx.set(b('race/once'), b(String(i)));
            return true;
          }),
        ),
      );
      assert.equal(results.filter(Boolean).length, 1);
      assert.equal(s(await db.get(b('race/once'))), String(results.indexOf(true)));
    });

    it('should keep counters exact under 40 concurrent read-modify-write transactions on 4 keys', async () => {
      const incr = (tx: KvTransaction, k: string) =>
        tx.get(b(k)).then((v) => tx.set(b(k), b(String(Number(s(v) ?? '0') + 1))));
      await Promise.all(
        Array.from({ length: 40 }, (_, i) =>
          db.transact(async (tx) => {
            await incr(tx, `ctr/${i % 4}`);
            await incr(tx, 'ctr/total');
          }),
        ),
      );
      for (let k = 0; k < 4; k++) assert.equal(s(await db.get(b(`ctr/${k}`))), '10');
      assert.equal(s(await db.get(b('ctr/total'))), '40');
    });

    it('should see a scan-then-insert conflict (no two transactions both find a prefix empty and fill it)', async () => {
      const results = await Promise.all(
        Array.from({ length: 10 }, (_, i) =>
          db.transact(async (tx) => {
            for await (const _ of tx.scan({ gte: b('phantom/'), lt: b('phantom0'), limit: 1 })) return false;
            tx.set(b(`phantom/${i}`), b('x'));
            return true;
          }),
        ),
      );
      assert.equal(results.filter(Boolean).length, 1);
      assert.equal((await collect(db.scan({ gte: b('phantom/'), lt: b('phantom0') }))).length, 1);
    });

    it('should reject a transaction whose signal is already aborted, without running it', async () => {
      let ran = false;
      await assert.rejects(
        db.transact(
          () => {
            ran = true;
          },
          { signal: AbortSignal.abort() },
        ),
        (err: Error) => err.name === 'AbortError',
      );
      assert.equal(ran, false);
    });

    it('should keep committed writes across close and reopen', async () => {
      await put({ 'persist/a': '1', 'persist/b': '2' });
      await db.transact((tx) => tx.delete(b('persist/b')));
      db = await factory.reopen(db);
      assert.equal(s(await db.get(b('persist/a'))), '1');
      assert.equal(await db.get(b('persist/b')), undefined);
      assert.equal(s(await db.get(b('get/a'))), '1');
    });

    it('should refuse work once closed, with KV_CLOSED', async () => {
      const other = await factory.open();
      await other.close();
      await assert.rejects(
        other.transact(() => 1),
        (err) => isKvError(err, 'KV_CLOSED'),
      );
      await assert.rejects(
        async () => other.get(b('x')),
        (err) => isKvError(err, 'KV_CLOSED'),
      );
    });
  });
}
