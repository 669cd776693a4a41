/** Prometheus metrics on their own address (`coffer serve --metrics-listen`), read after real S3 requests. */
import { after, before, describe, it } from 'node:test';
import assert from 'node:assert/strict';
import { startServer, type RunningServer } from './helpers/server.ts';
import { objectPath, parseErrorXml, signedSend } from './helpers/http.ts';

describe('metrics', () => {
  let server: RunningServer;
  let metricsUrl: string;

  before(async () => {
    server = await startServer({ args: ['--metrics-listen', '127.0.0.1:0'] });
    metricsUrl = /coffer metrics on (http:\/\/\S+)/.exec(server.stdout())![1]!;
  });
  after(async () => {
    await server?.stop({ removeDir: true });
  });

  it('should count requests by operation and status, time them, and add the process metrics', async () => {
    assert.equal((await signedSend(server, { method: 'PUT', path: '/metrics-bucket' })).status, 200);
    for (let i = 0; i < 3; i++)
      assert.equal(
        (
          await signedSend(server, {
            method: 'PUT',
            path: objectPath('metrics-bucket', `k${i}`),
            body: Buffer.from('x'),
          })
        ).status,
        200,
      );
    assert.equal(
      (await signedSend(server, { method: 'GET', path: objectPath('metrics-bucket', 'missing') })).status,
      404,
    );
    assert.equal((await fetch(`${server.url}/metrics-bucket/k0`)).status, 403); // unsigned: anonymous, denied

    const r = await fetch(metricsUrl);
    assert.equal(r.status, 200);
    assert.match(String(r.headers.get('content-type')), /^text\/plain/);
    const text = await r.text();
    assert.match(text, /^coffer_requests_total\{op="CreateBucket",status="200"\} 1$/m);
    assert.match(text, /^coffer_requests_total\{op="PutObject",status="200"\} 3$/m);
    assert.match(text, /^coffer_requests_total\{op="GetObject",status="404"\} 1$/m);
    assert.match(text, /^coffer_requests_total\{op="GetObject",status="403"\} 1$/m);
    assert.match(text, /^coffer_request_duration_seconds_count\{op="PutObject"\} 3$/m);
    assert.match(text, /^coffer_requests_in_flight 0$/m);
    assert.match(text, /^coffer_process_resident_memory_bytes \d+/m);
    // the bucket, the three objects and the root user at least; LevelDB's group commit never runs one again
    assert.ok(Number(/^coffer_metadata_transactions_total (\d+)$/m.exec(text)?.[1]) >= 4, text);
    assert.match(text, /^coffer_metadata_commits_total [1-9]\d*$/m);
    assert.match(text, /^coffer_metadata_retries_total 0$/m);
    // Labels name operations and statuses, never buckets, keys or credentials.
    assert.doesNotMatch(text, /metrics-bucket|k0|missing/);
    assert.ok(!text.includes(server.accessKey) && !text.includes(server.secretKey));
    assert.equal((await fetch(metricsUrl.replace('/metrics', '/other'))).status, 404);
  });

  it('should not serve metrics on the S3 port', async () => {
    // An unsigned request is anonymous: `/metrics` is a bucket there, and there is none.
    const r = await fetch(`${server.url}/metrics`);
    assert.equal(r.status, 404);
    assert.equal(parseErrorXml(await r.text())['Code'], 'NoSuchBucket');
  });
});
