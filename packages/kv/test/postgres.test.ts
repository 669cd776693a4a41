import assert from 'node:assert/strict';
import { after, before, describe, it } from 'node:test';

import pg from 'pg';

import { PgEngine, PG_SCHEMA_VERSION, isKvError, type KvTransaction } from '../src/index.ts';
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

/** Two engines (two nodes) on a new database, opened one after the other (no race on its schema to count). */
async function twoNodes(): Promise<[PgEngine, PgEngine]> {
  const url = await freshDb();
  return [await PgEngine.open(url), await PgEngine.open(url)];
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

  it('should commit the concurrent transactions of one node in groups, without a conflict', async () => {
    const engine = await PgEngine.open(await freshDb());
    try {
      const k = (i: number) => Buffer.from(`ctr/${i % 4}`);
      await Promise.all(
        Array.from({ length: 40 }, (_, i) =>
          engine.transact(async (tx) => tx.set(k(i), Buffer.from(String(Number((await tx.get(k(i))) ?? 0) + 1)))),
        ),
      );
      for (let i = 0; i < 4; i++) assert.equal((await engine.get(k(i)))?.toString(), '10');
      // the first transaction starts a group alone; the 39 that arrive meanwhile share the next one
      assert.deepEqual(engine.stats(), { transactions: 40, commits: 2, retries: 0 });
    } finally {
      await engine.close();
    }
  });

  it('should run a transaction again when another node wrote what it read, and count the retry', async () => {
    const [a, b] = await twoNodes();
    try {
      const key = Buffer.from('ctr/shared');
      const incr = async (tx: KvTransaction) => Number((await tx.get(key)) ?? 0) + 1;
      let bDone!: () => void;
      const bCommitted = new Promise<void>((resolve) => {
        bDone = resolve;
      });
      let runs = 0;
      const onA = a.transact(async (tx) => {
        runs++;
        const n = await incr(tx);
        // B reads and writes the same key and commits while A's transaction is open: A cannot commit its write
        await bCommitted;
        tx.set(key, Buffer.from(String(n)));
      });
      await b.transact(async (tx) => tx.set(key, Buffer.from(String(await incr(tx)))));
      bDone();
      await onA;
      assert.equal((await a.get(key))?.toString(), '2');
      assert.equal(runs, 2);
      assert.equal(a.stats().retries, 1);
      assert.equal(b.stats().retries, 0);
    } finally {
      await Promise.all([a.close(), b.close()]);
    }
  });

  it('should not act on a cached value that another node has changed since', async () => {
    const [a, b] = await twoNodes();
    try {
      const key = Buffer.from('cached/1');
      await a.transact((tx) => tx.set(key, Buffer.from('1'))); // A now holds 1 in its cache
      await b.transact((tx) => tx.set(key, Buffer.from('2')));
      const seen: string[] = [];
      await a.transact(async (tx) => {
        const v = (await tx.get(key))!.toString();
        seen.push(v);
        tx.set(key, Buffer.from(`${v}+a`));
      });
      assert.equal((await a.get(key))?.toString(), '2+a');
      assert.deepEqual(seen, ['1', '2']); // the first run, on the stale value, was thrown away before COMMIT
      assert.equal(a.stats().retries, 1);
    } finally {
      await Promise.all([a.close(), b.close()]);
    }
  });

  it('should read a large value from the database, not from the cache (no run on a stale copy)', async () => {
    const [a, b] = await twoNodes();
    try {
      const key = Buffer.from('large/1');
      await a.transact((tx) => tx.set(key, Buffer.alloc(8192, 1))); // larger than a cached value may be
      await b.transact((tx) => tx.set(key, Buffer.alloc(8192, 2)));
      const seen = await a.transact(async (tx) => (await tx.get(key))![0]);
      assert.equal(seen, 2);
      assert.equal(a.stats().retries, 0);
    } finally {
      await Promise.all([a.close(), b.close()]);
    }
  });

  it('should keep counters exact when two nodes race 40 read-modify-writes on the same keys', async () => {
    const nodes = await twoNodes();
    try {
      const k = (i: number) => Buffer.from(`race/${i % 2}`);
      await Promise.all(
        Array.from({ length: 40 }, (_, i) =>
          nodes[i % 2]!.transact(async (tx) =>
            tx.set(k(i >> 1), Buffer.from(String(Number((await tx.get(k(i >> 1))) ?? 0) + 1))),
          ),
        ),
      );
      assert.equal((await nodes[0]!.get(k(0)))?.toString(), '20');
      assert.equal((await nodes[1]!.get(k(1)))?.toString(), '20');
      assert.equal(nodes[0]!.stats().transactions + nodes[1]!.stats().transactions, 40);
    } finally {
      await Promise.all(nodes.map((e) => e.close()));
    }
  });
});
