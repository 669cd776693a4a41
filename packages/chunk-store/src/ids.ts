import { randomBytes } from 'node:crypto';

/** Blob ids are 32 lowercase hex characters (128 random bits). */
const CHUNK_ID = /^[0-9a-f]{32}$/;

/** A new random blob id. Never derived from a bucket or object name, so no name can reach a path or a backend. */
export function newChunkId(): string {
  return randomBytes(16).toString('hex');
}

/** True if `id` has the blob id shape. */
export function isChunkId(id: unknown): id is string {
  return typeof id === 'string' && CHUNK_ID.test(id);
}

/** Throws a TypeError unless `id` is a blob id: no other string may become a file or object name. */
export function checkChunkId(id: unknown): string {
  if (!isChunkId(id)) throw new TypeError('id must be a blob id (32 lowercase hex characters)');
  return id;
}

/** A blob's name relative to the store's root: `xx/yy/ID` (its first four hex digits spread the directories). */
export function chunkPath(id: string): string {
  return `${id.slice(0, 2)}/${id.slice(2, 4)}/${id}`;
}

/** The id named by a `xx/yy/ID` relative name, or `undefined` if it is not one (a stray file or object). */
export function idOfPath(rel: string): string | undefined {
  const m = /^([0-9a-f]{2})\/([0-9a-f]{2})\/([0-9a-f]{32})$/.exec(rel);
  return m && m[3]!.startsWith(m[1]! + m[2]!) ? m[3] : undefined;
}
