import assert from 'node:assert/strict';
import { after, before, describe, it } from 'node:test';

import pg from 'pg';

import { PgEngine, PG_SCHEMA_VERSION, isKvError } from '../src/index.ts';
import { runEngineConformance } from '../src/testing.ts';
import { startPostgres, type RunningPostgres } from '../../../tools/test-services/postgres.ts';

let server: RunningPostgres;
let n = 0;
before(async () => {
  server = await startPostgres();
});
after(async () => {
  await server?.stop();
});

/** Runs `fn` with a client of its own on `url` (the server is stopped on purpose below: no client outlives a test). */
async function withClient<T>(url: string, fn: (c: pg.Client) => Promise<T>): Promise<T> {
  const c = new pg.Client({ connectionString: url });
  await c.connect();
  try {
    return await fn(c);
  } finally {
    await c.end();
  }
}

/** A URL of a new, empty database on the test server. */
function freshDb(): Promise<string> {
  return server.createDatabase(`kv_${++n}`);
}

const urls = new WeakMap<object, string>();

runEngineConformance('postgres', {
  async open() {
    const url = await freshDb();
    const engine = await PgEngine.open(url);
    urls.set(engine, url);
    return engine;
  },
  async reopen(engine) {
    const url = urls.get(engine)!;
    await engine.close();
    const again = await PgEngine.open(url);
    urls.set(again, url);
    return again;
  },
});

describe('PgEngine', () => {
  it('should create its schema once when several nodes open a new database at the same time', async () => {
    const url = await freshDb();
    const engines = await Promise.all(Array.from({ length: 4 }, () => PgEngine.open(url)));
    try {
      const { rows } = await withClient(url, (c) => c.query('SELECT id, version FROM coffer_schema'));
      assert.deepEqual(rows, [{ id: 1, version: PG_SCHEMA_VERSION }]);
    } finally {
      await Promise.all(engines.map((e) => e.close()));
    }
  });

  it('should refuse a database whose schema is newer than it knows, with KV_SCHEMA', async () => {
    const url = await freshDb();
    await (await PgEngine.open(url)).close();
    await withClient(url, (c) => c.query('UPDATE coffer_schema SET version = version + 1'));
    await assert.rejects(PgEngine.open(url), (err) => isKvError(err, 'KV_SCHEMA'));
  });

  it('should order keys by bytes through the primary key index (an index range scan, no sort)', async () => {
    const url = await freshDb();
    const engine = await PgEngine.open(url);
    try {
      await engine.transact((tx) => {
        for (let i = 0; i < 5000; i++)
          tx.set(Buffer.from(`${String.fromCharCode(97 + (i % 26))}/${i}`), Buffer.from('v'));
      });
      const plan = await withClient(url, async (c) => {
        await c.query('ANALYZE coffer_kv');
        const { rows } = await c.query(
          "EXPLAIN SELECT k, v FROM coffer_kv WHERE k >= '\\x61'::bytea AND k < '\\x62'::bytea ORDER BY k ASC LIMIT 10",
        );
        return rows.map((r: Record<string, string>) => r['QUERY PLAN']).join('\n');
      });
      assert.match(plan, /Index Scan using coffer_kv_pkey/);
      assert.doesNotMatch(plan, /Sort/);
    } finally {
      await engine.close();
    }
  });

  it('should answer KV_UNAVAILABLE while the database is down, and work again once it is back', async () => {
    const url = await freshDb();
    const engine = await PgEngine.open(url);
    try {
      await engine.transact((tx) => tx.set(Buffer.from('up/1'), Buffer.from('a')));
      await server.stopServer();
      await assert.rejects(
        engine.transact((tx) => tx.set(Buffer.from('up/2'), Buffer.from('b'))),
        (err) => isKvError(err, 'KV_UNAVAILABLE'),
      );
      await assert.rejects(engine.get(Buffer.from('up/1')), (err) => isKvError(err, 'KV_UNAVAILABLE'));
      await server.startServer();
      await engine.transact((tx) => tx.set(Buffer.from('up/3'), Buffer.from('c')));
      assert.equal((await engine.get(Buffer.from('up/1')))?.toString(), 'a');
      assert.equal(await engine.get(Buffer.from('up/2')), undefined);
    } finally {
      await engine.close();
    }
  });
});
