/** The chunk files of a data directory and the blob references of a PostgreSQL metadata database, for gc tests. */
import { readdir } from 'node:fs/promises';
import { join } from 'node:path';

import pg from 'pg';

/** Blob ids of the chunk files under DATA/blobs (`blobs/xx/yy/ID`). */
export async function blobFiles(dataDir: string): Promise<string[]> {
  const out: string[] = [];
  const root = join(dataDir, 'blobs');
  for (const xx of await readdir(root)) {
    for (const yy of await readdir(join(root, xx))) out.push(...(await readdir(join(root, xx, yy))));
  }
  return out.sort();
}

/** The path of a blob's chunk file. */
export function blobPath(dataDir: string, id: string): string {
  return join(dataDir, 'blobs', id.slice(0, 2), id.slice(2, 4), id);
}

/**
 * Blob ids of a metadata database: `live`, those with a reference count (file blobs only: inline ones have no
 * file), and `garbage`, those on the garbage list (released, kept until their not-before time).
 */
export async function metaBlobIds(url: string): Promise<{ live: Set<string>; garbage: Set<string> }> {
  const c = new pg.Client({ connectionString: url });
  await c.connect();
  try {
    // '!r!' and '!g!' (schema.ts of @coffer/blob-store): 0x21 0x72 0x21 and 0x21 0x67 0x21.
    const range = (prefix: string) =>
      c.query<{ k: Buffer; v: Buffer }>(
        `SELECT k, v FROM coffer_kv WHERE k >= '\\x21${prefix}21'::bytea AND k < '\\x21${prefix}22'::bytea`,
      );
    const live = new Set<string>();
    for (const { k, v } of (await range('72')).rows) {
      if (!JSON.parse(v.toString('utf8')).inline) live.add(k.toString('utf8').slice(3));
    }
    const garbage = new Set((await range('67')).rows.map(({ k }) => k.toString('utf8').slice(3)));
    return { live, garbage };
  } finally {
    await c.end();
  }
}
