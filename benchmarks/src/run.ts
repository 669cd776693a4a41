/**
 * `pnpm bench [--quick] [--rounds N] [--out DIR] [--only REGEX] [--servers LIST]`: Coffer against s3rver 3.7.1, the
 * ceiling and Coffer with the pool off, with one lean client, servers alternated round by round; markdown to stdout
 * and benchmarks/RESULTS.md, JSON to benchmarks/results.json, a chart to benchmarks/chart.svg. `--only` (workloads
 * whose label matches) and `--servers` (e.g. `coffer,s3rver`) run a part of it, and then write files only to an
 * explicit `--out`. See benchmarks/README.md.
 */
import { availableParallelism, cpus } from 'node:os';
import { mkdir, writeFile } from 'node:fs/promises';
import path from 'node:path';
import { performance } from 'node:perf_hooks';

import cliProgress from 'cli-progress';

import { S3Client, S3RequestError } from './client.ts';
import {
  chartSvg,
  markdown,
  pairedRatio,
  ratio,
  sizeLabel,
  summarize,
  type Cell,
  type Results,
  type Workload,
} from './report.ts';
import {
  ROOT,
  RssMeter,
  SERVER_NAMES,
  cleanup,
  cleanupSync,
  CEPH_KINDS,
  cofferDefaultCryptoThreads,
  radosgwServer,
  startCeiling,
  startCoffer,
  startCofferNodes,
  startS3rver,
  type ChunkBackend,
  type RunningServer,
  type ServerKind,
} from './servers.ts';
import { startCeph, type RunningCeph } from '../../tools/test-services/ceph.ts';
import { startPostgres, type RunningPostgres } from '../../tools/test-services/postgres.ts';

const KiB = 1024;
const MiB = 1024 * KiB;
const GiB = 1024 * MiB;
const BUCKET = 'bench';

function arg(name: string): string | undefined {
  const i = process.argv.indexOf(name);
  return i > 0 ? process.argv[i + 1] : undefined;
}

const quick = process.argv.includes('--quick');
const rounds = Number(arg('--rounds') ?? (quick ? 2 : 5));
if (!Number.isInteger(rounds) || rounds < 1) throw new RangeError('--rounds must be a positive integer');

function w(
  op: Workload['op'],
  size: number,
  concurrency: number,
  maxOps: number,
  maxMs: number,
  extra: Partial<Workload> = {},
): Workload {
  const unit = size < MiB ? 'ops/s' : 'MB/s';
  const what =
    op === 'mpu'
      ? `multipart PUT ${sizeLabel(size)}, ${extra.parts} parts in flight`
      : `${op.toUpperCase()} ${sizeLabel(size)} ×${concurrency}`;
  return { id: `${op}-${size}-c${concurrency}`, label: what, op, size, concurrency, maxOps, maxMs, unit, ...extra };
}

const ALL_WORKLOADS: Workload[] = quick
  ? [
      w('put', MiB, 4, 400, 1200),
      w('get', MiB, 4, 400, 1200),
      w('put', 64 * MiB, 1, 8, 1500),
      w('get', 64 * MiB, 1, 8, 1500),
      w('mpu', 64 * MiB, 1, 1, 3000, { parts: 8 }),
      w('put', 4 * KiB, 16, 4000, 1200),
      w('get', 4 * KiB, 16, 4000, 1200),
    ]
  : [
      w('put', MiB, 1, 300, 4000),
      w('put', MiB, 4, 600, 4000),
      w('get', MiB, 1, 300, 4000),
      w('get', MiB, 4, 600, 4000),
      w('put', 64 * MiB, 1, 16, 8000),
      w('put', 64 * MiB, 4, 32, 8000),
      w('get', 64 * MiB, 1, 16, 8000),
      w('get', 64 * MiB, 4, 32, 8000),
      w('put', GiB, 1, 1, 30_000),
      w('put', GiB, 4, 4, 60_000),
      w('get', GiB, 1, 1, 30_000),
      w('get', GiB, 4, 4, 60_000),
      w('mpu', GiB, 1, 1, 60_000, { parts: 8 }),
      w('put', 4 * KiB, 16, 20_000, 4000),
      w('get', 4 * KiB, 16, 20_000, 4000),
    ];

/**
 * What a run with a Ceph server measures unless `--only` says otherwise (issue 14): 64 MiB PUT and GET MB/s and 4 KiB
 * PUT ops/s. Every worker runs at least once, so on a slow radosgw the time bounds keep the memstore OSD (all in RAM)
 * from filling up with overwritten data, which radosgw frees only hours later.
 */
const CEPH_WORKLOADS: Workload[] = [
  w('put', 64 * MiB, 1, 8, 8000),
  w('get', 64 * MiB, 1, 8, 8000),
  w('put', 4 * KiB, 16, 4000, 4000),
];

const serverFilter = arg('--servers')?.split(',');
const withCeph = serverFilter?.some((k) => CEPH_KINDS.includes(k as ServerKind)) ?? false;
const only = arg('--only');
const BASE_WORKLOADS = withCeph ? CEPH_WORKLOADS : ALL_WORKLOADS;
const WORKLOADS =
  only === undefined ? BASE_WORKLOADS : ALL_WORKLOADS.filter((x) => new RegExp(only, 'i').test(x.label));
if (WORKLOADS.length === 0) throw new RangeError(`--only ${only} matches no workload`);
/** A partial run (some workloads or servers) does not replace the full results in benchmarks/. */
const partial = only !== undefined || serverFilter !== undefined;

/** Objects every server holds before the GET workloads (untimed). */
const GET_SIZES = [...new Set(WORKLOADS.filter((x) => x.op === 'get').map((x) => x.size))];
const objectKey = (size: number) => `obj-${size}`;

/** Runs one workload against one server (its workers split over the server's nodes); returns MB/s or ops/s. */
async function runWorkload(nodes: readonly S3Client[], wl: Workload): Promise<number> {
  let started = 0;
  let bytes = 0;
  let ops = 0;
  const t0 = performance.now();
  await Promise.all(
    Array.from({ length: wl.concurrency }, async (_, worker) => {
      const client = nodes[worker % nodes.length]!;
      // Every worker runs at least once; then ops go on while both bounds allow.
      for (let first = true; first || (started < wl.maxOps && performance.now() - t0 < wl.maxMs); first = false) {
        const i = started++;
        if (wl.op === 'put') await client.put(BUCKET, `put-${wl.size}-${worker}`, wl.size);
        else if (wl.op === 'get') {
          const n = await client.get(BUCKET, objectKey(wl.size));
          if (n !== wl.size) throw new Error(`GET returned ${n} bytes, expected ${wl.size}`);
        } else await client.multipartPut(BUCKET, `mpu-${wl.size}-${worker}-${i % 2}`, wl.size, wl.parts ?? 8);
        bytes += wl.size;
        ops++;
      }
    }),
  );
  const s = (performance.now() - t0) / 1000;
  return wl.unit === 'ops/s' ? ops / s : bytes / MiB / s;
}

/** Coffer on Ceph against radosgw served directly (the cost of the encrypting layer), when they ran. */
function cephRatios<R>(
  cells: Partial<Record<ServerKind, Cell>>,
  of: (a: Cell | undefined, b: Cell | undefined) => R,
): Record<string, R> {
  const out: Record<string, R> = {};
  if (!cells.radosgw) return out;
  if (cells['coffer-ceph']) out['ceph/radosgw'] = of(cells['coffer-ceph'], cells.radosgw);
  if (cells['coffer-ceph2']) out['ceph2/radosgw'] = of(cells['coffer-ceph2'], cells.radosgw);
  return out;
}

async function main(): Promise<void> {
  const began = performance.now();
  const notes: string[] = [];
  // Coffer runs with its shipped defaults; the other Coffer column flips the pool, so pool / inline compares the two.
  const defaultThreads = cofferDefaultCryptoThreads();
  const poolThreads = Math.max(1, availableParallelism() - 1);
  const other: ServerKind | undefined =
    defaultThreads === undefined ? undefined : defaultThreads === 0 ? 'coffer-pool' : 'coffer-inline';
  // Coffer on PostgreSQL (the metadata engine for several nodes) runs only when asked for: it needs PostgreSQL's
  // server binaries (tools/install-test-deps.sh) and starts a throw-away cluster of its own.
  // The Ceph kinds too: a throw-away one-node Ceph (tools/install-test-deps.sh) is started only when they are asked for.
  const known: ServerKind[] = [
    'coffer',
    ...(other ? [other] : []),
    'coffer-pg',
    'coffer-pg2',
    ...CEPH_KINDS,
    's3rver',
    'ceiling',
  ];
  const kinds = known.filter((k) =>
    serverFilter === undefined ? !k.startsWith('coffer-pg') && !CEPH_KINDS.includes(k) : serverFilter.includes(k),
  );
  if (kinds.length === 0) throw new RangeError(`--servers ${serverFilter} names none of ${known.join(', ')}`);
  if (kinds.includes('coffer-pg2'))
    notes.push(
      '"Coffer on PostgreSQL, 2 nodes": two `coffer serve` processes on one PostgreSQL database and one shared ' +
        "`--data` directory, the workers of each workload split over both; peak RSS is the first node's.",
    );
  if (!other) notes.push('This Coffer build has no `serve --crypto-threads` flag: pool / inline is not reported.');
  else if (kinds.includes(other))
    notes.push(
      `Coffer runs with its defaults (\`--crypto-threads ${defaultThreads}\` on this machine); "${SERVER_NAMES[other]}" runs with \`--crypto-threads ${other === 'coffer-pool' ? poolThreads : 0}\`.`,
    );

  const servers = new Map<ServerKind, RunningServer[]>();
  let postgres: RunningPostgres | undefined;
  /** A database of its own for each server kind on the one throw-away PostgreSQL. */
  const metaUrl = async (): Promise<string> => {
    postgres ??= await startPostgres();
    return postgres.createDatabase();
  };
  let ceph: RunningCeph | undefined;
  let chunkBuckets = 0;
  const startCeph_ = async (): Promise<RunningCeph> => {
    ceph ??= await startCeph({ memstoreBytes: 4 * GiB });
    return ceph;
  };
  /** A fresh bucket on radosgw for one Coffer's chunks (each server kind its own, on its own database). */
  const chunkBackend = async (): Promise<ChunkBackend> => {
    const c = await startCeph_();
    const bucket = `coffer-chunks-${++chunkBuckets}`;
    const admin = new S3Client(radosgwServer(c), 1);
    await admin.createBucket(bucket);
    await admin.close();
    return { endpoint: c.endpoint, bucket, accessKey: c.accessKey, secretKey: c.secretKey };
  };
  const clients = new Map<ServerKind, S3Client[]>();
  const cells = new Map<string, Cell>(); // `${workload}|${server}`
  const cellOf = (wl: Workload, k: ServerKind): Cell => {
    const id = `${wl.id}|${k}`;
    let c = cells.get(id);
    if (!c) {
      c = { status: 'ok', samples: [] };
      cells.set(id, c);
    }
    return c;
  };

  const bar = new cliProgress.SingleBar(
    {
      format: ' {bar} {percentage}% | {value}/{total} | {task}',
      stream: process.stderr,
      hideCursor: true,
      clearOnComplete: true,
      etaBuffer: 20,
    },
    cliProgress.Presets.shades_classic,
  );
  const setupSteps = kinds.length * (1 + GET_SIZES.length);
  bar.start(setupSteps + rounds * WORKLOADS.length * kinds.length, 0, { task: 'starting servers' });
  try {
    for (const k of kinds) {
      bar.update({ task: `starting ${SERVER_NAMES[k]}` });
      const nodes =
        k === 'coffer'
          ? [await startCoffer('coffer')]
          : k === 'coffer-pool'
            ? [await startCoffer('coffer-pool', poolThreads)]
            : k === 'coffer-inline'
              ? [await startCoffer('coffer-inline', 0)]
              : k === 'coffer-pg' || k === 'coffer-pg2'
                ? await startCofferNodes(k, k === 'coffer-pg2' ? 2 : 1, await metaUrl())
                : k === 'coffer-ceph' || k === 'coffer-ceph2'
                  ? await startCofferNodes(k, k === 'coffer-ceph2' ? 2 : 1, await metaUrl(), {
                      chunks: await chunkBackend(),
                    })
                  : k === 'radosgw'
                    ? [radosgwServer(await startCeph_())]
                    : k === 's3rver'
                      ? [await startS3rver()]
                      : [await startCeiling()];
      servers.set(k, nodes);
      const maxConc = Math.max(...WORKLOADS.map((x) => (x.op === 'mpu' ? (x.parts ?? 8) : x.concurrency)));
      clients.set(
        k,
        nodes.map((s) => new S3Client(s, maxConc)),
      );
      const client = clients.get(k)![0]!;
      await client.createBucket(BUCKET);
      bar.increment();
      for (const size of GET_SIZES) {
        bar.update({ task: `${SERVER_NAMES[k]}: uploading the ${sizeLabel(size)} object to GET` });
        await client.put(BUCKET, objectKey(size), size);
        bar.increment();
      }
    }

    for (let r = 0; r < rounds; r++) {
      for (const wl of WORKLOADS) {
        // Alternate: each round starts with a different server.
        const order = kinds.map((_, i) => kinds[(i + r) % kinds.length]!);
        for (const k of order) {
          bar.update({ task: `round ${r + 1}/${rounds}: ${wl.label} on ${SERVER_NAMES[k]}` });
          const cell = cellOf(wl, k);
          if (cell.status !== 'ok') {
            bar.increment();
            continue;
          }
          const meter = new RssMeter(servers.get(k)![0]!.pid);
          await meter.start();
          try {
            cell.samples.push(await runWorkload(clients.get(k)!, wl));
          } catch (err) {
            if (err instanceof S3RequestError && err.code === 'NotImplemented') {
              cell.status = 'n/a';
              cell.note = 'NotImplemented';
            } else {
              cell.status = 'error';
              cell.note = err instanceof S3RequestError ? err.code : (err as Error).message.slice(0, 80);
            }
          } finally {
            cell.peakRss = Math.max(cell.peakRss ?? 0, await meter.stop());
          }
          bar.increment();
        }
      }
    }
  } finally {
    bar.stop();
    await Promise.all([...clients.values()].flat().map((c) => c.close().catch(() => undefined)));
    await Promise.all([...servers.values()].flat().map((s) => s.stop()));
    await postgres?.stop();
    await ceph?.stop();
    await cleanup();
  }

  const res: Results = {
    date: new Date().toISOString(),
    quick,
    rounds,
    durationSec: (performance.now() - began) / 1000,
    machine: {
      cpus: cpus().length,
      model: cpus()[0]?.model ?? 'unknown',
      node: process.version,
      platform: `${process.platform}-${process.arch}`,
    },
    notes,
    servers: kinds,
    workloads: WORKLOADS.map((wl) => {
      const byServer: Partial<Record<ServerKind, Cell>> = {};
      for (const k of kinds) {
        const c = cellOf(wl, k);
        summarize(c);
        byServer[k] = c;
      }
      const poolPair: [Cell | undefined, Cell | undefined] =
        other === 'coffer-pool'
          ? [byServer['coffer-pool'], byServer.coffer]
          : [byServer.coffer, byServer['coffer-inline']];
      return {
        ...wl,
        cells: byServer,
        ratios: {
          'coffer/s3rver': ratio(byServer.coffer, byServer.s3rver),
          'coffer/ceiling': ratio(byServer.coffer, byServer.ceiling),
          'pool/inline': ratio(...poolPair),
          ...cephRatios(byServer, ratio),
        },
        paired: {
          'coffer/s3rver': pairedRatio(byServer.coffer, byServer.s3rver),
          'coffer/ceiling': pairedRatio(byServer.coffer, byServer.ceiling),
          'pool/inline': pairedRatio(...poolPair),
          ...cephRatios(byServer, pairedRatio),
        },
      };
    }),
  };
  const md = markdown(res);
  process.stdout.write(md);
  const out = arg('--out') ?? (partial ? undefined : path.join(ROOT, 'benchmarks'));
  if (out === undefined) {
    process.stdout.write(
      `\nA partial run (--only/--servers) in ${res.durationSec.toFixed(0)} s: nothing written (give --out DIR to keep it).\n`,
    );
    return;
  }
  const dir = path.resolve(out);
  await mkdir(dir, { recursive: true });
  await writeFile(path.join(dir, 'RESULTS.md'), md);
  await writeFile(path.join(dir, 'results.json'), JSON.stringify(res, null, 2) + '\n');
  await writeFile(path.join(dir, 'chart.svg'), chartSvg(res));
  process.stdout.write(
    `\nWrote RESULTS.md, results.json and chart.svg to ${path.relative(process.cwd(), dir) || '.'} in ${res.durationSec.toFixed(0)} s.\n`,
  );
}

let interrupted = false;
for (const sig of ['SIGINT', 'SIGTERM'] as const) {
  process.on(sig, () => {
    if (interrupted) return;
    interrupted = true;
    process.stderr.write(`\n${sig}: stopping the servers and removing their directories…\n`);
    cleanup().finally(() => process.exit(130));
  });
}
process.on('exit', cleanupSync);

main().catch(async (err: unknown) => {
  process.stderr.write(`\nbench failed: ${(err as Error).stack ?? String(err)}\n`);
  await cleanup();
  process.exit(1);
});
