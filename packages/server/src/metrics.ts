/**
 * Prometheus metrics (prom-client): requests by S3 operation and status, their duration, the requests in flight,
 * the data directory's free space and the requests refused for it, log lines dropped, and Node's process metrics.
 * Served on their own address (`coffer serve --metrics-listen`), never on the S3 port.
 * Labels carry operation names and status codes only: no bucket, key or credential.
 */
import http from 'node:http';
import type { AddressInfo } from 'node:net';
import { Counter, Gauge, Histogram, Registry, collectDefaultMetrics } from 'prom-client';
import type { DiskSpace } from './space.ts';

/** What the metrics read when scraped. */
export interface MetricSources {
  /** The data directory's free space. */
  space: DiskSpace;
  /** Log lines dropped so far (the log could not be written). */
  logDropped?: () => number;
  /** True while the store refuses writes after a failed metadata write. */
  writesStopped?: () => boolean;
  /** The metadata engine's counters since open. */
  metadata?: () => { transactions: number; commits: number; retries: number };
}

/** The server's Prometheus registry and the instruments the request path updates. */
export class Metrics {
  readonly registry = new Registry();
  readonly #requests = new Counter({
    name: 'coffer_requests_total',
    help: 'S3 requests answered, by operation and HTTP status',
    labelNames: ['op', 'status'] as const,
    registers: [this.registry],
  });
  readonly #duration = new Histogram({
    name: 'coffer_request_duration_seconds',
    help: 'Time from the request to its answer, by S3 operation',
    labelNames: ['op'] as const,
    buckets: [0.001, 0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 2.5, 5, 10, 30, 60],
    registers: [this.registry],
  });
  readonly #inFlight = new Gauge({
    name: 'coffer_requests_in_flight',
    help: 'S3 requests being handled',
    registers: [this.registry],
  });
  readonly #refused = new Counter({
    name: 'coffer_requests_refused_for_space_total',
    help: 'Requests answered 507 XCofferStorageFull: the data directory was below its free-space reserve, or full',
    registers: [this.registry],
  });

  constructor(sources: MetricSources) {
    collectDefaultMetrics({ register: this.registry, prefix: 'coffer_' });
    const { space, logDropped, writesStopped, metadata } = sources;
    const fromSpace = (name: string, help: string, field: 'free' | 'total' | 'reserve') =>
      new Gauge({
        name,
        help,
        registers: [this.registry],
        async collect() {
          try {
            this.set((await space.sample())[field]);
          } catch {
            // statfs failed: the gauge keeps its last value
          }
        },
      });
    fromSpace('coffer_data_free_bytes', 'Bytes free (for Coffer) on the file system of the data directory', 'free');
    fromSpace('coffer_data_total_bytes', 'Size of the file system of the data directory', 'total');
    fromSpace(
      'coffer_data_min_free_bytes',
      'The free-space reserve (--min-free-space): new data is refused below it',
      'reserve',
    );
    /** A counter that reads a running total kept elsewhere. */
    const countFrom = (name: string, help: string, total: () => number) => {
      let counted = 0;
      new Counter({
        name,
        help,
        registers: [this.registry],
        collect() {
          const n = total();
          this.inc(n - counted);
          counted = n;
        },
      });
    };
    countFrom(
      'coffer_log_lines_dropped_total',
      'Log lines dropped because the log could not be written (e.g. a full disk)',
      () => logDropped?.() ?? 0,
    );
    countFrom(
      'coffer_metadata_transactions_total',
      'Metadata transactions committed',
      () => metadata?.().transactions ?? 0,
    );
    countFrom(
      'coffer_metadata_commits_total',
      'Commits to the metadata database (a group commit holds several transactions)',
      () => metadata?.().commits ?? 0,
    );
    countFrom(
      'coffer_metadata_retries_total',
      'Metadata transactions run again after a conflict with another node (PostgreSQL serialization failures)',
      () => metadata?.().retries ?? 0,
    );
    new Gauge({
      name: 'coffer_metadata_writes_stopped',
      help: '1 while writes are refused until the metadata database is reopened',
      registers: [this.registry],
      collect() {
        this.set(writesStopped?.() ? 1 : 0);
      },
    });
  }

  /** A request was refused for lack of space. */
  refusedForSpace(): void {
    this.#refused.inc();
  }

  /** A request started; call the returned function once it is answered. */
  start(): (op: string | undefined, status: number) => void {
    const began = process.hrtime.bigint();
    this.#inFlight.inc();
    return (op, status) => {
      this.#inFlight.dec();
      const name = op ?? 'unknown';
      this.#requests.inc({ op: name, status: String(status) });
      this.#duration.observe({ op: name }, Number(process.hrtime.bigint() - began) / 1e9);
    };
  }

  /** Serves `GET /metrics` on its own HTTP server; resolves once it listens. */
  async listen(host: string, port: number): Promise<{ server: http.Server; address: AddressInfo }> {
    const server = http.createServer((req, res) => {
      if (req.method !== 'GET' || (req.url ?? '').split('?')[0] !== '/metrics') {
        res.writeHead(404, { 'content-type': 'text/plain' }).end('not found\n');
        return;
      }
      this.registry.metrics().then(
        (text) => res.writeHead(200, { 'content-type': this.registry.contentType }).end(text),
        () => res.writeHead(500, { 'content-type': 'text/plain' }).end('metrics failed\n'),
      );
    });
    await new Promise<void>((resolve, reject) => {
      server.once('error', reject);
      server.listen(port, host, () => {
        server.off('error', reject);
        resolve();
      });
    });
    return { server, address: server.address() as AddressInfo };
  }
}
