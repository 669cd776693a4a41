/**
 * Fault suite, fuzzer: at least 500 malformed requests, seeded, across every operation of the router's table
 * (fuzz-requests.ts draws them; most are validly signed by the tests' own signer, so they reach the handlers).
 * Against the real server process: no 5xx (501 NotImplemented excepted: S3's answer to a feature it lacks), no
 * dropped connection, no stack trace, no internal path and no key material (root secret key, the SSE-C key, the
 * master keys) in any status line, header or body; afterwards the server is alive and serves the fixtures intact.
 *
 * The seed is printed; `COFFER_FUZZ_SEED=N` replays a run, `COFFER_FUZZ_COUNT=N` changes its length.
 */
import assert from 'node:assert/strict';
import { randomBytes, randomInt } from 'node:crypto';
import { after, before, describe, it } from 'node:test';

import { md5b64 } from '../helpers/assert.ts';
import { httpSend, objectPath, parseErrorXml, signedSend, type HttpResult } from '../helpers/http.ts';
import { REPO_ROOT, startServer, type RunningServer } from '../helpers/server.ts';
import { MUTATIONS, OPERATIONS, Rng, drawRequests, signRequest, type Fixtures, type Signed } from './fuzz-requests.ts';

const SEED = Number(process.env.COFFER_FUZZ_SEED ?? randomInt(2 ** 31));
const COUNT = Number(process.env.COFFER_FUZZ_COUNT ?? 600);
/** Answers of the authentication layer: a request that got one never reached its handler. */
const AUTH_ERRORS =
  /^(403|400) (AccessDenied|SignatureDoesNotMatch|InvalidAccessKeyId|RequestTimeTooSkewed|Authorization\w+)$/;
/** Fixtures are checked (and rewritten) this often, so that deletes among the requests do not starve the rest. */
const REFRESH_EVERY = 50;

let server: RunningServer;
const customerKey = randomBytes(32);
const objectData = randomBytes(5000);
const fixtures: Fixtures = {
  bucket: 'fuzz',
  object: 'obj',
  ssecObject: 'ssec-obj',
  customerKey,
  uploadKey: 'mp',
  uploadId: () => uploadId,
};
let uploadId = '';

function ssec(key: Buffer): Record<string, string> {
  return {
    'x-amz-server-side-encryption-customer-algorithm': 'AES256',
    'x-amz-server-side-encryption-customer-key': key.toString('base64'),
    'x-amz-server-side-encryption-customer-key-md5': md5b64(key),
  };
}

async function ok(r: Promise<HttpResult>, what: string): Promise<HttpResult> {
  const res = await r;
  assert.ok(res.status === 200 || res.status === 204, `${what}: ${res.status} ${res.text}`);
  return res;
}

/** (Re)writes the objects and the open upload the requests refer to. */
async function writeFixtures(): Promise<void> {
  const b = fixtures.bucket;
  await ok(signedSend(server, { method: 'PUT', path: objectPath(b, fixtures.object), body: objectData }), 'put object');
  const ssecPath = objectPath(b, fixtures.ssecObject);
  const headers = ssec(customerKey);
  await ok(signedSend(server, { method: 'PUT', path: ssecPath, headers, body: objectData }), 'put ssec');
  const create = { method: 'POST', path: objectPath(b, fixtures.uploadKey), query: { uploads: '' } };
  const mp = await ok(signedSend(server, create), 'create upload');
  uploadId = /<UploadId>([^<]+)<\/UploadId>/.exec(mp.text)![1]!;
}

/** Secrets that must never be echoed, in every encoding a leak could take. */
const masterKey = randomBytes(32);

async function secrets(): Promise<string[]> {
  // The server's active master key is the one it was given (the ring in the metadata starts with it).
  const raw = [customerKey, masterKey];
  return [server.secretKey, ...raw.flatMap((k) => [k.toString('base64'), k.toString('hex'), k.toString('base64url')])];
}

/** What is wrong with one response, or undefined. */
function problem(r: HttpResult, leaks: readonly string[]): string | undefined {
  if (r.status >= 500) {
    const code = parseErrorXml(r.text)['Code'];
    if (!(r.status === 501 && code === 'NotImplemented')) return `status ${r.status} ${code ?? ''}`;
  }
  const all = JSON.stringify(r.headers) + '\n' + r.body.toString('latin1');
  if (/\bat [\w.<>]+ \(|\bat (?:file|node):|Error: .*\n\s+at /.test(all)) return 'stack trace';
  for (const p of [server.dataDir, REPO_ROOT, 'node_modules', '.ts:']) if (all.includes(p)) return `internal path ${p}`;
  for (const s of leaks) if (all.includes(s)) return 'key material';
  return undefined;
}

/**
 * A connection the server may close before it has read the request: Node's HTTP parser answers 431 and drops the
 * socket when the header block passes its 16 KiB limit, and an early answer to a body over the 1 MiB XML cap need
 * not wait for the rest. The client, still writing, may then see the reset instead of the answer.
 */
function closedEarly(s: Signed, err: unknown): boolean {
  const code = (err as NodeJS.ErrnoException).code;
  if (code !== 'ECONNRESET' && code !== 'EPIPE') return false;
  const headerBytes = Object.entries(s.headers).reduce((n, [k, v]) => n + k.length + v.length + 4, 0);
  return headerBytes > 16 * 1024 || (s.body?.length ?? 0) > 1024 * 1024;
}

before(async () => {
  server = await startServer({ env: { COFFER_MASTER_KEY: masterKey.toString('base64') } });
  await ok(signedSend(server, { method: 'PUT', path: objectPath(fixtures.bucket) }), 'create bucket');
  await writeFixtures();
});

after(async () => {
  await server?.stop({ removeDir: true });
});

describe('fuzzer: malformed requests across every operation', () => {
  const title = `should answer ${COUNT} seeded malformed requests without a 5xx, a crash or a leak`;
  it(title, { timeout: 300_000 }, async (t) => {
    t.diagnostic(`fuzz seed ${SEED} (replay: COFFER_FUZZ_SEED=${SEED})`);
    console.log(`fuzz seed ${SEED} (replay: COFFER_FUZZ_SEED=${SEED})`);
    const rng = new Rng(SEED);
    const leaks = await secrets();
    const failures: string[] = [];
    const ops = new Set<string>();
    const mutations = new Set<string>();
    const answers = new Map<string, number>();
    let mutated = 0;
    let refusedByAuth = 0;
    let i = 0;
    for (const req of drawRequests(rng, fixtures, COUNT)) {
      if (i > 0 && i % REFRESH_EVERY === 0) await writeFixtures();
      ops.add(req.op);
      for (const m of req.mutations) mutations.add(m);
      if (req.mutations.length > 0) mutated++;
      const s = signRequest(req, server);
      const what = `#${i} ${req.op} [${req.mutations.join(', ')}] ${req.method} ${s.path}`;
      try {
        const r = await httpSend({ method: req.method, url: server.url, ...s, timeoutMs: 15_000 });
        const answer = `${r.status} ${parseErrorXml(r.text)['Code'] ?? ''}`.trim();
        answers.set(answer, (answers.get(answer) ?? 0) + 1);
        if (AUTH_ERRORS.test(answer)) refusedByAuth++;
        const p = problem(r, leaks);
        if (p) failures.push(`${what}: ${p}: ${r.text.slice(0, 300)}`);
      } catch (err) {
        if (closedEarly(s, err)) answers.set('closed early', (answers.get('closed early') ?? 0) + 1);
        else failures.push(`${what}: request failed: ${(err as Error).message}`);
      }
      i++;
    }
    t.diagnostic(
      `answers: ${[...answers]
        .sort((a, b) => b[1] - a[1])
        .map(([k, n]) => `${k} ×${n}`)
        .join(', ')}`,
    );
    assert.deepEqual(failures.slice(0, 15), [], `${failures.length} bad answers (seed ${SEED})`);
    assert.ok(mutated >= Math.min(500, COUNT * 0.9), `${mutated} malformed requests`);
    assert.ok(refusedByAuth < COUNT / 3, `most requests reach the handlers (${refusedByAuth} stopped by auth)`);
    assert.deepEqual(
      [...Object.keys(OPERATIONS)].filter((op) => !ops.has(op)),
      [],
      'every operation drawn',
    );
    assert.deepEqual(
      Object.keys(MUTATIONS).filter((m) => !mutations.has(m)),
      [],
      'every mutation drawn',
    );
  });

  it('should still be running and serve the fixtures intact afterwards', async () => {
    assert.doesNotThrow(() => process.kill(server.pid, 0), 'the server process is alive');
    const list = await signedSend(server, { method: 'GET', path: '/' });
    assert.equal(list.status, 200, list.text);
    const g = await signedSend(server, { method: 'GET', path: objectPath(fixtures.bucket, fixtures.object) });
    assert.equal(g.status, 200, g.text);
    assert.ok(g.body.equals(objectData));
    const path = objectPath(fixtures.bucket, fixtures.ssecObject);
    const s = await signedSend(server, { method: 'GET', path, headers: ssec(customerKey) });
    assert.equal(s.status, 200, s.text);
    assert.ok(s.body.equals(objectData));
  });

  it('should have logged no request as a server fault', () => {
    assert.doesNotMatch(server.stderr(), /"msg":"request failed"/);
  });
});
