import assert from 'node:assert/strict';
import { readdir } from 'node:fs/promises';
import path from 'node:path';

import type { MasterKeyRing } from '@coffer/crypto';

import type { ObjectStore } from './contract.ts';
import { BlobStore } from './store.ts';
import type { ObjectRecord } from './types.ts';

/** One object a fault or crash may have left in either of several states. */
export interface ExpectedObject {
  bucket: string;
  key: string;
  /** The bodies it may hold, byte-exact; `null` = it may be absent. */
  allowed: readonly (Buffer | null)[];
}

/**
 * TEST ONLY: opens the store at `dir` (so its sweep runs) and asserts what a fault or a crash may leave behind:
 * every expected object holds one of its allowed bodies, byte-exact (never a mix); `tmp/` is empty; the blob files
 * are exactly those that object records refer to, plus what `keep` returns (blobs of other records, such as the
 * parts of multipart uploads in progress), so nothing is orphaned and nothing referenced is missing; scrub reports
 * no failure. Closes the store, and returns the index in `allowed` that each object matched.
 */
export async function assertRecovered(
  dir: string,
  keyRing: Pick<MasterKeyRing, 'activeId' | 'key'>,
  expected: readonly ExpectedObject[],
  opts: { keep?: (store: ObjectStore) => Promise<Iterable<string>>; context?: string } = {},
): Promise<number[]> {
  const ctx = opts.context ? `${opts.context}: ` : '';
  const store = await BlobStore.open({ dir, keyRing });
  try {
    const matched: number[] = [];
    for (const { bucket, key, allowed } of expected) {
      const rec = await store.getObject(bucket, key);
      const body = rec
        ? await readBody(store, rec).catch((err: unknown) => assert.fail(`${ctx}${bucket}/${key}: ${err}`))
        : null;
      const i = allowed.findIndex((a) => (a === null ? body === null : body !== null && a.equals(body)));
      assert.ok(
        i >= 0,
        `${ctx}${bucket}/${key} holds ${body === null ? 'nothing' : `${body.length} bytes`} that no ` +
          `allowed state has (${allowed.map((a) => (a === null ? 'absent' : `${a.length} bytes`)).join(', ')})`,
      );
      matched.push(i);
    }
    assert.deepEqual(await readdir(path.join(dir, 'tmp')), [], `${ctx}tmp/ is empty after the sweep`);
    const referenced = new Set(await opts.keep?.(store));
    for (const rec of await allObjects(store)) {
      for (const s of rec.segments) if (!s.inline) referenced.add(s.blobId);
    }
    const files = (await readdir(path.join(dir, 'blobs'), { recursive: true, withFileTypes: true }))
      .filter((e) => e.isFile())
      .map((e) => e.name);
    assert.deepEqual(files.sort(), [...referenced].sort(), `${ctx}blob files = the blobs records refer to`);
    const scrub = await store.scrub();
    assert.deepEqual(scrub.failures, [], `${ctx}scrub is clean`);
    return matched;
  } finally {
    await store.close();
  }
}

async function readBody(store: ObjectStore, rec: ObjectRecord): Promise<Buffer> {
  const parts: Buffer[] = [];
  for await (const c of await store.openObject(rec)) parts.push(c as Buffer);
  return Buffer.concat(parts);
}

/** Every object record of every bucket. */
async function allObjects(store: ObjectStore): Promise<ObjectRecord[]> {
  const out: ObjectRecord[] = [];
  for (const b of await store.listBuckets()) {
    let after: string | undefined;
    for (;;) {
      const page = await store.listObjects(b.name, { after, maxKeys: 1000 });
      out.push(...page.objects);
      if (!page.isTruncated || page.nextMarker === undefined) break;
      after = page.nextMarker;
    }
  }
  return out;
}
