/**
 * Micro-benchmark of @coffer/crypto's streams alone (no HTTP, no disk): inline versus the worker pool, for
 * encryption and decryption, big streams and small ones, and the main thread's event-loop utilization while it
 * runs (what the pool frees for HTTP parsing and MD5).
 *
 *   node --import tsx benchmarks/src/crypto-micro.ts [--quick] [--json FILE]
 */
import { createHash, randomBytes } from 'node:crypto';
import { writeFile } from 'node:fs/promises';
import { performance } from 'node:perf_hooks';
import { PassThrough, Readable, Writable, type Transform } from 'node:stream';
import { pipeline } from 'node:stream/promises';

import { CryptoPool, createDecryptStream, createEncryptStream, encryptedSize } from '@coffer/crypto';

const MiB = 1024 * 1024;
const KiB = 1024;
const quick = process.argv.includes('--quick');
const jsonAt = process.argv.indexOf('--json');
const jsonFile = jsonAt > 0 ? process.argv[jsonAt + 1] : undefined;
const key = randomBytes(32);
const PIECE = 64 * KiB; // what a socket or a file stream hands over at a time

/** Feeds `size` bytes of `src` (from its start, wrapping around) in PIECE-sized views: no copies on the producer side. */
function source(src: Buffer, size: number): Readable {
  let left = size;
  let at = 0;
  return new Readable({
    read() {
      if (left === 0) {
        this.push(null);
        return;
      }
      if (at === src.length) at = 0;
      const n = Math.min(PIECE, left, src.length - at);
      left -= n;
      this.push(src.subarray(at, at + n));
      at += n;
    },
  });
}

/** What the store does on the request thread besides encrypting: MD5 of the plaintext (for the ETag). */
function md5Tap(): Transform {
  const h = createHash('md5');
  const t = new PassThrough();
  t.on('data', (c: Buffer) => h.update(c));
  t.on('end', () => h.digest());
  return t;
}

function sink(): Writable {
  return new Writable({ write: (_c, _e, cb) => cb() });
}

interface Sample {
  mbps: number;
  elu: number;
}

async function timeStreams(
  make: () => [Readable, ...Transform[]],
  bytes: number,
  streams: number,
  concurrency: number,
): Promise<Sample> {
  const elu0 = performance.eventLoopUtilization();
  const t0 = performance.now();
  let next = 0;
  await Promise.all(
    Array.from({ length: concurrency }, async () => {
      while (next < streams) {
        next++;
        const [src, ...ts] = make();
        await pipeline([src, ...ts, sink()]);
      }
    }),
  );
  const s = (performance.now() - t0) / 1000;
  const elu = performance.eventLoopUtilization(elu0).utilization;
  return { mbps: (bytes * streams) / MiB / s, elu };
}

function median(xs: number[]): number {
  const s = [...xs].sort((a, b) => a - b);
  return s[Math.floor(s.length / 2)]!;
}

async function best(rounds: number, f: () => Promise<Sample>): Promise<Sample> {
  const got: Sample[] = [];
  for (let i = 0; i < rounds; i++) got.push(await f());
  return { mbps: median(got.map((g) => g.mbps)), elu: median(got.map((g) => g.elu)) };
}

interface Row {
  case: string;
  mode: string;
  mbps: number;
  opsPerSec?: number;
  elu: number;
}

async function main(): Promise<void> {
  const rows: Row[] = [];
  const rounds = quick ? 2 : 5;
  const big = quick ? 16 * MiB : 64 * MiB;
  const plain = randomBytes(big);
  const encBuf = Buffer.alloc(encryptedSize(big));
  {
    // one real ciphertext to decrypt
    const parts: Buffer[] = [];
    await pipeline(
      source(plain, big),
      createEncryptStream(key),
      new Writable({
        write: (c, _e, cb) => {
          parts.push(c);
          cb();
        },
      }),
    );
    Buffer.concat(parts).copy(encBuf);
  }
  const log = (r: Row) => {
    rows.push(r);
    process.stderr.write(
      `${r.case.padEnd(34)} ${r.mode.padEnd(28)} ${r.mbps.toFixed(0).padStart(6)} MB/s${r.opsPerSec ? `  ${r.opsPerSec.toFixed(0).padStart(6)} ops/s` : ''}  main-thread ELU ${(r.elu * 100).toFixed(0)}%\n`,
    );
  };

  const pools = new Map<string, CryptoPool>();
  const configs: [string, { threads: number; batchBytes: number; inlineBelow: number }][] = [
    ['pool 1 thread, 1 MiB batches', { threads: 1, batchBytes: MiB, inlineBelow: 0 }],
    ['pool 2 threads, 1 MiB batches', { threads: 2, batchBytes: MiB, inlineBelow: 0 }],
    ['pool 1 thread, 256 KiB batches', { threads: 1, batchBytes: 256 * KiB, inlineBelow: 0 }],
    ['pool 1 thread, 4 MiB batches', { threads: 1, batchBytes: 4 * MiB, inlineBelow: 0 }],
  ];
  for (const [name, o] of quick ? configs.slice(0, 2) : configs) pools.set(name, await CryptoPool.open(o));
  try {
    for (const concurrency of [1, 2]) {
      const label = `${big / MiB} MiB stream x${concurrency}`;
      log({
        case: `encrypt ${label}`,
        mode: 'inline',
        ...(await best(rounds, () =>
          timeStreams(() => [source(plain, big), createEncryptStream(key)], big, concurrency, concurrency),
        )),
      });
      for (const [name, pool] of pools) {
        log({
          case: `encrypt ${label}`,
          mode: name,
          ...(await best(rounds, () =>
            timeStreams(() => [source(plain, big), createEncryptStream(key, { pool })], big, concurrency, concurrency),
          )),
        });
      }
      log({
        case: `MD5 + encrypt ${label}`,
        mode: 'inline',
        ...(await best(rounds, () =>
          timeStreams(() => [source(plain, big), md5Tap(), createEncryptStream(key)], big, concurrency, concurrency),
        )),
      });
      for (const [name, pool] of pools) {
        log({
          case: `MD5 + encrypt ${label}`,
          mode: name,
          ...(await best(rounds, () =>
            timeStreams(
              () => [source(plain, big), md5Tap(), createEncryptStream(key, { pool })],
              big,
              concurrency,
              concurrency,
            ),
          )),
        });
      }
      log({
        case: `decrypt ${label}`,
        mode: 'inline',
        ...(await best(rounds, () =>
          timeStreams(
            () => [source(encBuf, encBuf.length), createDecryptStream(key, { plainSize: big })],
            big,
            concurrency,
            concurrency,
          ),
        )),
      });
      for (const [name, pool] of pools) {
        log({
          case: `decrypt ${label}`,
          mode: name,
          ...(await best(rounds, () =>
            timeStreams(
              () => [source(encBuf, encBuf.length), createDecryptStream(key, { plainSize: big, pool })],
              big,
              concurrency,
              concurrency,
            ),
          )),
        });
      }
    }
    // Small bodies: where does the round trip to a worker stop paying? (pool forced with inlineBelow = 0)
    const pool = pools.get('pool 1 thread, 1 MiB batches')!;
    for (const size of quick ? [64 * KiB, MiB] : [4 * KiB, 64 * KiB, 128 * KiB, 256 * KiB, 512 * KiB, MiB, 2 * MiB]) {
      const n = Math.max(8, Math.min(2000, Math.floor(((quick ? 32 : 128) * MiB) / size)));
      for (const concurrency of [1, 4]) {
        const c = `encrypt ${size / KiB} KiB bodies x${concurrency}`;
        const inl = await best(rounds, () =>
          timeStreams(() => [source(plain, size), createEncryptStream(key)], size, n, concurrency),
        );
        log({ case: c, mode: 'inline', ...inl, opsPerSec: (inl.mbps * MiB) / size });
        const pl = await best(rounds, () =>
          timeStreams(() => [source(plain, size), createEncryptStream(key, { pool })], size, n, concurrency),
        );
        log({ case: c, mode: 'pool 1 thread (forced)', ...pl, opsPerSec: (pl.mbps * MiB) / size });
      }
    }
  } finally {
    for (const p of pools.values()) await p.close();
  }
  if (jsonFile)
    await writeFile(jsonFile, JSON.stringify({ date: new Date().toISOString(), quick, rows }, null, 2) + '\n');
}

await main();
