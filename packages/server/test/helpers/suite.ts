/** The server and clients of one test suite. */
import { after, before } from 'node:test';
import { CreateBucketCommand, type S3Client } from '@aws-sdk/client-s3';
import { startServer, type RunningServer } from './server.ts';
import { Clients } from './clients.ts';

/** What {@link serverForSuite} gives: filled in by its `before` hook. */
export interface SuiteServer {
  server: RunningServer;
  clients: Clients;
  sdk: S3Client;
}

/**
 * Call inside `describe`: starts a server and its clients before the suite (and creates `buckets`), stops them
 * and removes the data directory after it.
 */
export function serverForSuite(buckets: readonly string[] = []): SuiteServer {
  const s = {} as SuiteServer;
  before(async () => {
    s.server = await startServer();
    s.clients = await Clients.create(s.server);
    s.sdk = s.clients.sdk();
    for (const bucket of buckets) await s.sdk.send(new CreateBucketCommand({ Bucket: bucket }));
  });
  after(async () => {
    s.sdk?.destroy();
    await s.clients?.cleanup();
    await s.server?.stop({ removeDir: true });
  });
  return s;
}
