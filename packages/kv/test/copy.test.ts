import assert from 'node:assert/strict';
import { mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { after, describe, it } from 'node:test';

import { LevelEngine, copyEngine, isKvError, type CopyOptions, type KvEngine } from '../src/index.ts';

const dirs: string[] = [];
after(async () => {
  for (const d of dirs) await rm(d, { recursive: true, force: true });
});

const b = (s: string) => Buffer.from(s, 'utf8');
const PROGRESS = b('~copy-progress');

async function fresh(entries: Record<string, string> = {}): Promise<LevelEngine> {
  const dir = await mkdtemp(join(tmpdir(), 'coffer-kv-copy-'));
  dirs.push(dir);
  const e = await LevelEngine.open(dir, { sync: false });
  await put(e, entries);
  return e;
}

function put(e: KvEngine, entries: Record<string, string>): Promise<void> {
  return e.transact((tx) => {
    for (const [k, v] of Object.entries(entries)) tx.set(b(k), b(v));
  });
}

async function dump(e: KvEngine): Promise<Record<string, string>> {
  const out: Record<string, string> = {};
  for await (const { key, value } of e.scan({})) out[key.toString('utf8')] = value.toString('utf8');
  return out;
}

describe('copyEngine', () => {
  it('should copy every key byte for byte in transactions of batchSize keys, and report it verified', async () => {
    const entries = Object.fromEntries(Array.from({ length: 25 }, (_, i) => [`k${i}`, `v${i}`]));
    const [src, dst] = [await fresh({ ...entries, '\xff\x00raw': '\x00' }), await fresh()];
    const commits: number[] = [];
    const report = await copyEngine(src, dst, {
      progressKey: PROGRESS,
      batchSize: 10,
      sampleSize: 5,
      onProgress: (p) => {
        if (p.phase === 'copy' && p.written > (commits.at(-1) ?? 0)) commits.push(p.written);
      },
    });
    assert.deepEqual(commits, [10, 20, 26]);
    assert.deepEqual(report, {
      keys: 26,
      written: 26,
      deleted: 0,
      resumed: false,
      verified: true,
      verify: { sourceKeys: 26, targetKeys: 26, differing: 0, sampled: 5, sampleDiffering: 0 },
    });
    assert.deepEqual(await dump(dst), await dump(src));
    await Promise.all([src.close(), dst.close()]);
  });

  it('should write only what differs into a target that holds part of the source', async () => {
    const [src, dst] = [await fresh({ a: '1', b: '2', c: '3' }), await fresh({ a: '1', b: 'old' })];
    const report = await copyEngine(src, dst, { progressKey: PROGRESS });
    assert.equal(report.written, 2);
    assert.equal(report.verified, true);
    assert.deepEqual(await dump(dst), { a: '1', b: '2', c: '3' });
    await Promise.all([src.close(), dst.close()]);
  });

  it('should neither copy, count nor delete the keys of an excluded range, on either side', async () => {
    const src = await fresh({ a: '1', 'lease/sweep': 'node-1', 'lease/zz': 'node-1', m: '2' });
    const dst = await fresh({ 'lease/lifecycle': 'node-9' });
    const exclude = [{ gte: b('lease/'), lt: b('lease0') }];
    const report = await copyEngine(src, dst, { progressKey: PROGRESS, exclude });
    assert.deepEqual(report, {
      keys: 2,
      written: 2,
      deleted: 0,
      resumed: false,
      verified: true,
      verify: { sourceKeys: 2, targetKeys: 2, differing: 0, sampled: 2, sampleDiffering: 0 },
    });
    assert.deepEqual(await dump(dst), { a: '1', 'lease/lifecycle': 'node-9', m: '2' });
    await Promise.all([src.close(), dst.close()]);
  });

  it('should refuse a target with keys the source lacks, unless forced or holding a copy in progress', async () => {
    const src = await fresh({ a: '1' });
    const dst = await fresh({ a: '1', z: 'foreign' });
    await assert.rejects(copyEngine(src, dst, { progressKey: PROGRESS }), (err) => isKvError(err, 'KV_TARGET_FOREIGN'));
    assert.deepEqual(await dump(dst), { a: '1', z: 'foreign' });
    const forced = await copyEngine(src, dst, { progressKey: PROGRESS, force: true });
    assert.deepEqual([forced.deleted, forced.verified], [1, true]);
    assert.deepEqual(await dump(dst), { a: '1' });

    // an interrupted copy of a source that has lost a key since: the key is the copy's own, and is removed
    await put(dst, { y: 'copied before', [PROGRESS.toString()]: '{}' });
    const resumed = await copyEngine(src, dst, { progressKey: PROGRESS });
    assert.deepEqual([resumed.resumed, resumed.deleted, resumed.verified], [true, 1, true]);
    assert.deepEqual(await dump(dst), { a: '1' });
    await Promise.all([src.close(), dst.close()]);
  });

  it('should stop between transactions when aborted, keeping its progress key for the next run', async () => {
    const [src, dst] = [await fresh({ a: '1', b: '2', c: '3' }), await fresh()];
    const ac = new AbortController();
    const run = copyEngine(src, dst, {
      progressKey: PROGRESS,
      batchSize: 1,
      signal: ac.signal,
      onProgress: (p) => {
        if (p.written === 1) ac.abort();
      },
    });
    await assert.rejects(run, { name: 'AbortError' });
    assert.deepEqual(Object.keys(await dump(dst)), ['a', PROGRESS.toString()]);
    const again = await copyEngine(src, dst, { progressKey: PROGRESS });
    assert.deepEqual([again.resumed, again.written, again.verified], [true, 2, true]);
    assert.deepEqual(await dump(dst), { a: '1', b: '2', c: '3' });
    await Promise.all([src.close(), dst.close()]);
  });

  it('should check its options', async () => {
    const [src, dst] = [await fresh(), await fresh()];
    const copy = (opts: Partial<CopyOptions>) => copyEngine(src, dst, { progressKey: PROGRESS, ...opts });
    await assert.rejects(copy({ progressKey: b('') }), /options\.progressKey must be a non-empty Uint8Array/);
    await assert.rejects(copy({ batchSize: 0 }), /options\.batchSize must be a positive whole number/);
    await assert.rejects(copy({ sampleSize: 1.5 }), /options\.sampleSize must be a positive whole number/);
    await Promise.all([src.close(), dst.close()]);
  });
});
