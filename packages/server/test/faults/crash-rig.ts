/**
 * A data directory for kill -9 tests at named points: what has been acknowledged in it, a way to run the server
 * or a command set to SIGKILL itself at a point (`COFFER_TEST_CRASH_AT`, read only by the CLI), and the check that
 * follows every crash (`coffer scrub` exits 0, then every acknowledged object byte-exact and no orphaned blob file).
 */
import assert from 'node:assert/strict';
import { rm } from 'node:fs/promises';
import { join } from 'node:path';

import { assertRecovered, type ExpectedObject } from '@coffer/blob-store/testing';
import type { ObjectStore } from '@coffer/blob-store';
import { MasterKeyRing } from '@coffer/crypto';

import { objectPath, signedSend, type HttpResult } from '../helpers/http.ts';
import { makeTempDir, runCli, startServer, type RunResult, type RunningServer } from '../helpers/server.ts';

/** The data directory under test and what the client knows of it. */
export class CrashRig {
  readonly bucket = 'points';
  readonly creds = { accessKey: 'AKCRASHPOINTS0001', secretKey: 'crash-points-secret-key-0000000000000000' };
  /** Every object acknowledged so far, by key. */
  readonly acked = new Map<string, Buffer>();

  private constructor(readonly dataDir: string) {}

  /** A fresh data directory with the rig's bucket. */
  static async create(): Promise<CrashRig> {
    const rig = new CrashRig(await makeTempDir('coffer-crash-points-'));
    await rig.withServer(async (s) => {
      assert.equal((await signedSend(s, { method: 'PUT', path: `/${rig.bucket}` })).status, 200);
    });
    return rig;
  }

  /** Removes the data directory. */
  dispose(): Promise<void> {
    return rm(this.dataDir, { recursive: true, force: true });
  }

  /** Starts the server on the data directory (`env` e.g. COFFER_TEST_CRASH_AT). */
  start(env: Record<string, string> = {}): Promise<RunningServer> {
    return startServer({ dataDir: this.dataDir, ...this.creds, env });
  }

  /** Runs `fn` against a normal server, then stops it (SIGTERM). */
  async withServer<T>(fn: (s: RunningServer) => Promise<T>): Promise<T> {
    const server = await this.start();
    try {
      return await fn(server);
    } finally {
      await server.stop();
    }
  }

  /** PUTs an object and records it as acknowledged. */
  async put(s: RunningServer, key: string, body: Buffer): Promise<void> {
    const r = await signedSend(s, { method: 'PUT', path: objectPath(this.bucket, key), body });
    assert.equal(r.status, 200, r.text);
    this.acked.set(key, body);
  }

  /** Sends `request` to a server set to crash at `point`: it must die by SIGKILL without answering. */
  async crashAt(point: string, request: (s: RunningServer) => Promise<HttpResult>): Promise<void> {
    const server = await this.start({ COFFER_TEST_CRASH_AT: point });
    const answer = await request(server).then(
      (r) => `${r.status} ${r.text.slice(0, 200)}`,
      () => undefined,
    );
    assert.equal(answer, undefined, `${point}: the request was answered before the crash`);
    assert.equal((await server.exited).signal, 'SIGKILL', `${point}: the server killed itself`);
  }

  /** Runs `coffer ARGS… --data DIR`, optionally set to crash at `point`. */
  cli(args: string[], point?: string): Promise<RunResult> {
    const env = point ? { COFFER_TEST_CRASH_AT: point } : {};
    return runCli([...args, '--data', this.dataDir], { env, timeoutMs: 60_000 });
  }

  /** `coffer scrub` exits 0 and checks every acknowledged object with no failure. */
  async scrub(context: string): Promise<void> {
    const r = await this.cli(['scrub']);
    assert.equal(r.code, 0, `${context}: ${r.stdout}${r.stderr}`);
    assert.match(r.stdout, new RegExp(`^${this.acked.size} objects, .*, 0 failures$`, 'm'), context);
  }

  /** The master key ring of the data directory (of a stopped server). */
  keyRing(): Promise<MasterKeyRing> {
    return MasterKeyRing.open({ dir: join(this.dataDir, 'keys') });
  }

  /** After a crash: `coffer scrub` exits 0, then {@link check}. */
  async recovered(context: string, keep?: (store: ObjectStore) => Promise<Iterable<string>>): Promise<void> {
    await this.scrub(context);
    await this.check(context, keep);
  }

  /** The store holds exactly the acknowledged objects, byte-exact, and no blob file beyond theirs and `keep`'s. */
  async check(context: string, keep?: (store: ObjectStore) => Promise<Iterable<string>>): Promise<void> {
    const keyRing = await this.keyRing();
    const expected: ExpectedObject[] = [...this.acked].map(([key, body]) => ({
      bucket: this.bucket,
      key,
      allowed: [body],
    }));
    await assertRecovered(this.dataDir, keyRing, expected, { context, keep });
  }
}
