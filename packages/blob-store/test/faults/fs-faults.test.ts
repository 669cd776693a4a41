/**
 * I/O faults injected into the N-th file-system call (or the metadata batch) of a write: for every N of a PUT
 * (new, overwrite, inline over a file), and a DELETE, and every kind of fault (EIO, ENOSPC, a call done but
 * reported failed, a short write, a write of 0 bytes), the operation either succeeds or fails with BLOB_IO (BLOB_NO_SPACE for a full disk), and after
 * closing and reopening the store the object is the old one or the new one, byte-exact, never a mix: no temp file,
 * no orphaned or missing blob file, and scrub clean. N runs from 1 until the operation completes without reaching
 * the fault.
 */
import assert from 'node:assert/strict';
import { mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { after, before, describe, it } from 'node:test';

import { MasterKeyRing } from '@coffer/crypto';

import { BlobStore, isBlobStoreError, type PutOptions } from '../../src/index.ts';
import { FaultInjector, assertRecovered, bodyOf, faultPlan, type FaultKind } from '../../src/testing.ts';

const MiB = 1024 * 1024;
const PUT: PutOptions = { owner: 'u1', metadata: { userMeta: {} }, encryption: { scheme: 'SSE-S3' } };

/** Deterministic bytes, distinct per label. */
function bytes(size: number, label: string): Buffer {
  const out = Buffer.alloc(size);
  for (let i = 0; i < size; i++) out[i] = (i * 31 + label.charCodeAt(i % label.length)) & 0xff;
  return out;
}

/** One write under test: what exists before, the operation, and the body the key holds after it (null: absent). */
interface Case {
  name: string;
  old: Buffer | null;
  run(store: BlobStore): Promise<unknown>;
  new: Buffer | null;
  /** Writes a new blob file, which a failed batch that landed anyway must keep (see the test below). */
  newFile?: boolean;
}

const big = bytes(9 * MiB, 'new'); // past 8 MiB, so the writer's background fdatasync runs too
const old = bytes(300_000, 'old');
const over = bytes(1_200_000, 'over');
const small = bytes(1000, 'small');
const put = (body: Buffer) => (s: BlobStore) => s.putObject('b', 'k', bodyOf(body), PUT);
const CASES: readonly Case[] = [
  { name: 'PUT of a new 9 MiB object', old: null, run: put(big), new: big, newFile: true },
  { name: 'PUT overwriting a file object', old, run: put(over), new: over, newFile: true },
  { name: 'PUT of an inline object over a file object', old, run: put(small), new: small },
  { name: 'DELETE of a file object', old, run: (s) => s.deleteObject('b', 'k'), new: null },
];

describe('faults injected into the N-th file-system call of a write', { timeout: 120_000 }, () => {
  let root: string;
  let keyRing: MasterKeyRing;
  before(async () => {
    root = await mkdtemp(path.join(tmpdir(), 'coffer-faults-'));
    keyRing = await MasterKeyRing.open({ dir: path.join(root, 'keys') });
  });
  after(async () => {
    await rm(root, { recursive: true, force: true });
  });

  let runs = 0;
  /** A fresh data directory holding `c.old`; runs `c.run` with the N-th call failed; checks the recovery. */
  async function attempt(c: Case, n: number, kind: FaultKind): Promise<Pick<FaultInjector, 'calls' | 'hit'>> {
    const dir = path.join(root, String(++runs));
    const faults = new FaultInjector();
    const store = await BlobStore.open({ dir, keyRing, testing: faults.hooks });
    let error: unknown;
    try {
      await store.createBucket('b', 'u1');
      if (c.old) await store.putObject('b', 'k', bodyOf(c.old), PUT);
      faults.arm(n, kind);
      try {
        await c.run(store);
      } catch (err) {
        error = err;
      }
      faults.disarm();
    } finally {
      await store.close();
    }
    const { calls, hit } = faults;
    const context = `${c.name}, ${kind} at call ${n} (${hit ?? 'none'}) of ${calls.join(',')}`;
    assert.equal(error !== undefined, faults.fatal, `${context}: the operation fails if and only if it must`);
    if (error !== undefined) {
      // A full disk (ENOSPC, or a write that makes no progress) is BLOB_NO_SPACE (507); any other fault BLOB_IO.
      const code = kind === 'ENOSPC' || kind === 'zero' ? 'BLOB_NO_SPACE' : 'BLOB_IO';
      assert.ok(isBlobStoreError(error, code), `${context}: ${String(error)}, expected ${code}`);
    }
    // A failed operation leaves the old object; one whose batch was written may also leave the new one.
    const allowed = error === undefined ? [c.new] : hit === 'batch' && kind === 'EIO-after' ? [c.old, c.new] : [c.old];
    await assertRecovered(dir, keyRing, [{ bucket: 'b', key: 'k', allowed }], { context });
    await rm(dir, { recursive: true, force: true });
    return { calls, hit };
  }

  for (const c of CASES) {
    it(`should leave the old or the new object after any fault in a ${c.name}`, async (t) => {
      // A run with a fault past the end lists the calls; then every call fails once, with every kind.
      const { calls } = await attempt(c, Number.MAX_SAFE_INTEGER, 'EIO');
      assert.ok(calls.includes('batch'), `the metadata batch is counted: ${calls.join(',')}`);
      let tried = 0;
      for (const { n, kind, call } of faultPlan(calls)) {
        const r = await attempt(c, n, kind);
        assert.equal(r.hit, call, `${kind} at ${n}: the same calls as the run without a fault`);
        tried++;
      }
      // N one past the last call: the operation completes without reaching the fault.
      assert.equal((await attempt(c, calls.length + 1, 'EIO')).hit, undefined);
      t.diagnostic(`${calls.length} calls (${calls.join(',')}), ${tried} faults`);
    });

    // LevelDB can append a batch to its log and then fail the sync: the write is reported failed, yet a reopen
    // replays it. The store then must not remove the blob files that batch refers to.
    if (c.newFile)
      it(`should keep the blob files of a batch that landed but was reported failed, in a ${c.name}`, async () => {
        const { calls } = await attempt(c, Number.MAX_SAFE_INTEGER, 'EIO');
        await attempt(c, calls.indexOf('batch') + 1, 'EIO-after');
      });
  }
});
