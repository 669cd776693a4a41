/**
 * Real S3 clients pointed at a test server: the aws CLI, s3cmd, boto3 (python3) and the JS SDK v3.
 *
 * Each client gets its own config files in a temp directory, so the tests never read or write the user's ~/.aws or
 * ~/.s3cfg, and never pick up AWS_* variables from the environment.
 */
import { spawnSync } from 'node:child_process';
import { mkdir, rm, writeFile } from 'node:fs/promises';
import { join } from 'node:path';

import { S3Client, type S3ClientConfig } from '@aws-sdk/client-s3';

import { childEnv, makeTempDir, REGION, runProcess, type RunResult } from './server.ts';

/** What the clients need to know about a server. */
export interface Endpoint {
  url: string;
  port: number;
  accessKey: string;
  secretKey: string;
}

/** A JS SDK v3 client for the server: path-style, us-east-1, no retries (a retry would hide the first answer). */
export function sdkClient(
  ep: Pick<Endpoint, 'url'>,
  creds: { accessKey: string; secretKey: string },
  extra: Partial<S3ClientConfig> = {},
): S3Client {
  return new S3Client({
    endpoint: ep.url,
    region: REGION,
    forcePathStyle: true,
    credentials: { accessKeyId: creds.accessKey, secretAccessKey: creds.secretKey },
    maxAttempts: 1,
    ...extra,
  });
}

/** Whether a program is on PATH. */
export function hasProgram(name: string): boolean {
  return spawnSync('sh', ['-c', `command -v ${name}`], { stdio: 'ignore' }).status === 0;
}

/** Whether python3 can import boto3. */
export function hasBoto3(): boolean {
  return spawnSync('python3', ['-c', 'import boto3'], { stdio: 'ignore' }).status === 0;
}

/** Python prelude for {@link Clients.boto3}: defines `s3` (a boto3 client) and `ClientError` from the env. */
export const BOTO3_PRELUDE = `
import os, sys, json, hashlib, base64
import boto3
from botocore.config import Config
from botocore.exceptions import ClientError
s3 = boto3.client('s3', endpoint_url=os.environ['COFFER_ENDPOINT'], region_name='${REGION}',
    aws_access_key_id=os.environ['COFFER_AK'], aws_secret_access_key=os.environ['COFFER_SK'],
    config=Config(s3={'addressing_style': 'path'}, signature_version='s3v4', retries={'max_attempts': 1, 'mode': 'standard'}))
`;

/** Config files and runners for one server, in one temp directory. Call {@link cleanup} when done. */
export class Clients {
  /** Directory holding the config files (and a scratch area for tests). */
  readonly dir: string;
  readonly awsConfigFile: string;
  readonly awsCredentialsFile: string;
  readonly s3cmdConfigFile: string;
  /** GNUPGHOME for s3cmd's gpg, so gpg never touches ~/.gnupg. */
  readonly gnupgHome: string;
  /** The passphrase written into the s3cmd config as gpg_passphrase. */
  readonly gpgPassphrase = 'coffer-e2e-gpg-passphrase';

  private constructor(
    readonly ep: Endpoint,
    dir: string,
  ) {
    this.dir = dir;
    this.awsConfigFile = join(dir, 'aws-config');
    this.awsCredentialsFile = join(dir, 'aws-credentials');
    this.s3cmdConfigFile = join(dir, 's3cmd.cfg');
    this.gnupgHome = join(dir, 'gnupg');
  }

  /** Writes the config files for `ep`. */
  static async create(ep: Endpoint): Promise<Clients> {
    const c = new Clients(ep, await makeTempDir('coffer-clients-'));
    await writeFile(
      c.awsConfigFile,
      `[default]\nregion = ${REGION}\noutput = json\ns3 =\n    addressing_style = path\n`,
    );
    await writeFile(
      c.awsCredentialsFile,
      `[default]\naws_access_key_id = ${ep.accessKey}\naws_secret_access_key = ${ep.secretKey}\n`,
    );
    const host = `127.0.0.1:${ep.port}`;
    await writeFile(
      c.s3cmdConfigFile,
      [
        '[default]',
        `access_key = ${ep.accessKey}`,
        `secret_key = ${ep.secretKey}`,
        `host_base = ${host}`,
        `host_bucket = ${host}`,
        'use_https = False',
        'signature_v2 = False',
        `bucket_location = ${REGION}`,
        'gpg_command = /usr/bin/gpg',
        `gpg_passphrase = ${c.gpgPassphrase}`,
        'gpg_encrypt = %(gpg_command)s -c --verbose --no-use-agent --batch --yes --passphrase-fd %(passphrase_fd)s -o %(output_file)s %(input_file)s',
        'gpg_decrypt = %(gpg_command)s -d --verbose --no-use-agent --batch --yes --passphrase-fd %(passphrase_fd)s -o %(output_file)s %(input_file)s',
        'encrypt = False',
        'progress_meter = False',
        'check_ssl_certificate = False',
        '',
      ].join('\n'),
    );
    await mkdir(c.gnupgHome, { mode: 0o700 });
    return c;
  }

  /** Environment for the aws CLI: only our config files. */
  awsEnv(): NodeJS.ProcessEnv {
    return childEnv({
      AWS_CONFIG_FILE: this.awsConfigFile,
      AWS_SHARED_CREDENTIALS_FILE: this.awsCredentialsFile,
      AWS_PAGER: '',
      AWS_RETRY_MODE: 'standard',
      AWS_MAX_ATTEMPTS: '1',
    });
  }

  /** `aws --endpoint-url URL ARGS…` (e.g. `['s3api', 'head-object', …]`). */
  aws(args: string[], opts: { timeoutMs?: number; cwd?: string } = {}): Promise<RunResult> {
    return runProcess('aws', ['--endpoint-url', this.ep.url, ...args], {
      env: this.awsEnv(),
      cwd: opts.cwd ?? this.dir,
      timeoutMs: opts.timeoutMs ?? 60_000,
    });
  }

  /** `s3cmd -c CFG ARGS…`. */
  s3cmd(args: string[], opts: { timeoutMs?: number; cwd?: string } = {}): Promise<RunResult> {
    return runProcess('s3cmd', ['-c', this.s3cmdConfigFile, ...args], {
      env: childEnv({ GNUPGHOME: this.gnupgHome, HOME: this.dir }),
      cwd: opts.cwd ?? this.dir,
      timeoutMs: opts.timeoutMs ?? 60_000,
    });
  }

  /** `python3 -c PRELUDE+SCRIPT` with the endpoint and keys in COFFER_ENDPOINT / COFFER_AK / COFFER_SK. */
  boto3(
    script: string,
    opts: { timeoutMs?: number; env?: Record<string, string>; creds?: { accessKey: string; secretKey: string } } = {},
  ): Promise<RunResult> {
    return runProcess('python3', ['-c', BOTO3_PRELUDE + script], {
      env: childEnv({
        COFFER_ENDPOINT: this.ep.url,
        COFFER_AK: opts.creds?.accessKey ?? this.ep.accessKey,
        COFFER_SK: opts.creds?.secretKey ?? this.ep.secretKey,
        ...opts.env,
      }),
      cwd: this.dir,
      timeoutMs: opts.timeoutMs ?? 60_000,
    });
  }

  /** A JS SDK client with the endpoint's keys. */
  sdk(extra: Partial<S3ClientConfig> = {}): S3Client {
    return sdkClient(this.ep, this.ep, extra);
  }

  /** Stops any gpg-agent started under our GNUPGHOME and removes the directory. */
  async cleanup(): Promise<void> {
    if (hasProgram('gpgconf')) {
      await runProcess('gpgconf', ['--kill', 'gpg-agent'], {
        env: childEnv({ GNUPGHOME: this.gnupgHome }),
        timeoutMs: 10_000,
      });
    }
    await rm(this.dir, { recursive: true, force: true });
  }
}

/** Formats a failed run for an assertion message. */
export function describeRun(r: RunResult): string {
  return `exit ${r.code}${r.signal ? ` (${r.signal})` : ''}\n--- stdout ---\n${r.stdout}\n--- stderr ---\n${r.stderr}`;
}
