/**
 * Version ids and the sort keys (`vkey`) that order a key's versions newest first in the metadata (schema.ts).
 *
 * A version id is 32 lowercase hex characters: the inverted milliseconds of its creation (12), an inverted sequence
 * number for versions made in the same millisecond by this process (4), and 64 random bits (16). Opaque to clients,
 * URL-safe, unique, and a later version of a key sorts before an earlier one (across nodes, as far as their clocks
 * agree). The `null` version has no id of its own: its sort key is made the same way from its Last-Modified, with
 * the highest sequence and random part, so that it sorts after any version made in the same millisecond.
 */
import { randomBytes } from 'node:crypto';

import type { VersionRecord } from './types.ts';

/** A version id as Coffer makes them. `null` (the null version) is the only other id a request may name. */
export const VERSION_ID = /^[0-9a-f]{32}$/;

/** The id requests use for the null version. */
export const NULL_VERSION = 'null';

const MAX_MS = 0xffff_ffff_ffff;
const MAX_SEQ = 0xffff;

let lastMs = 0;
let seq = 0;

function hex(n: number, width: number): string {
  return n.toString(16).padStart(width, '0');
}

/** A new version id, sorting before every id this process made earlier. */
export function newVersionId(now: number = Date.now()): string {
  if (now > lastMs) {
    lastMs = now;
    seq = 0;
  } else if (seq < MAX_SEQ) {
    seq++;
  } else {
    lastMs++;
    seq = 0;
  }
  return hex(MAX_MS - lastMs, 12) + hex(MAX_SEQ - seq, 4) + randomBytes(8).toString('hex');
}

/** The sort key of a version in `!v!`: its id, or for the null version one made from its Last-Modified. */
export function versionSortKey(rec: Pick<VersionRecord, 'versionId' | 'lastModified'>): string {
  if (rec.versionId !== undefined) return rec.versionId;
  const ms = Math.min(Math.max(Date.parse(rec.lastModified) || 0, 0), MAX_MS);
  return hex(MAX_MS - ms, 12) + 'f'.repeat(20);
}

/** The id of a version as requests and answers name it: `null` for the null version. */
export function versionIdOf(rec: Pick<VersionRecord, 'versionId'>): string {
  return rec.versionId ?? NULL_VERSION;
}

/** True for an id a request may name: `null` or one of Coffer's version ids. */
export function isVersionId(id: string): boolean {
  return id === NULL_VERSION || VERSION_ID.test(id);
}
