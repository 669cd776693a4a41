/**
 * `node --import tsx tools/test-services/cli.ts start|stop|status DIR`: the throw-away PostgreSQL and one-node Ceph of
 * the tests, kept running for a developer under DIR (tools/dev-cluster.sh passes ./.dev-cluster). `start` and
 * `status` print the services as environment lines on stdout (everything else goes to stderr), so that
 * `eval "$(tools/dev-cluster.sh start)"` works; `stop` stops exactly the processes `start` recorded in DIR.
 */
import { existsSync } from 'node:fs';
import { chmod, mkdir, rm } from 'node:fs/promises';
import { join, resolve } from 'node:path';
import { attachCeph, CEPH_REGION, startCeph, type RunningCeph } from './ceph.ts';
import { attachPostgres, postgresRunning, startPostgres, type RunningPostgres } from './postgres.ts';

const [command, dirArg] = process.argv.slice(2);
if (!['start', 'stop', 'status'].includes(command ?? '') || dirArg === undefined) {
  process.stderr.write('usage: cli.ts start|stop|status DIR\n');
  process.exit(2);
}
const dir = resolve(dirArg);
const pgDir = join(dir, 'postgres');
const cephDir = join(dir, 'ceph');

/** The environment lines a test run or a `coffer serve` picks the services up from. */
function envLines(pg: RunningPostgres, ceph: RunningCeph): string {
  return [
    `COFFER_TEST_PG_URL=${pg.url}`,
    `COFFER_TEST_S3_ENDPOINT=${ceph.endpoint}`,
    `COFFER_TEST_S3_REGION=${CEPH_REGION}`,
    `COFFER_TEST_S3_ACCESS_KEY=${ceph.accessKey}`,
    `COFFER_TEST_S3_SECRET_KEY=${ceph.secretKey}`,
    '',
  ].join('\n');
}

/** Both services when both were started in DIR, else undefined. */
async function attach(): Promise<{ pg: RunningPostgres; ceph: RunningCeph } | undefined> {
  if (!existsSync(join(pgDir, 'state.json')) || !existsSync(join(cephDir, 'state.json'))) return undefined;
  return { pg: await attachPostgres(pgDir), ceph: await attachCeph(cephDir) };
}

async function status(): Promise<number> {
  const services = await attach();
  if (services === undefined) {
    process.stderr.write(`no dev cluster in ${dir}\n`);
    return 1;
  }
  const pgUp = await postgresRunning(pgDir);
  const alive = services.ceph.alive();
  process.stderr.write(
    `postgres ${pgUp ? 'running' : 'stopped'}, ` +
      `ceph-mon ${alive.mon ? 'running' : 'stopped'}, ceph-osd ${alive.osd ? 'running' : 'stopped'}, ` +
      `radosgw ${alive.rgw ? 'running' : 'stopped'} (${dir})\n`,
  );
  process.stdout.write(envLines(services.pg, services.ceph));
  return pgUp && alive.mon && alive.osd && alive.rgw ? 0 : 1;
}

async function start(): Promise<number> {
  if ((await attach()) !== undefined) {
    process.stderr.write(`a dev cluster is already in ${dir} (stop it first)\n`);
    return status();
  }
  await mkdir(dir, { recursive: true });
  // PostgreSQL runs as its own unprivileged user when we are root, and must reach its directory inside this one
  await chmod(dir, 0o755);
  const started = Date.now();
  const [pg, ceph] = await Promise.allSettled([
    startPostgres({ dir: pgDir, keepAfterExit: true }),
    startCeph({ dir: cephDir, keepAfterExit: true }),
  ]);
  if (pg.status === 'rejected' || ceph.status === 'rejected') {
    if (pg.status === 'fulfilled') await pg.value.stop();
    if (ceph.status === 'fulfilled') await ceph.value.stop();
    await rm(dir, { recursive: true, force: true });
    for (const result of [pg, ceph]) if (result.status === 'rejected') process.stderr.write(`${result.reason}\n`);
    return 1;
  }
  process.stderr.write(`PostgreSQL and Ceph up in ${((Date.now() - started) / 1000).toFixed(1)} s (${dir})\n`);
  process.stdout.write(envLines(pg.value, ceph.value));
  return 0;
}

async function stop(): Promise<number> {
  if (existsSync(join(cephDir, 'state.json'))) await (await attachCeph(cephDir)).stop();
  if (existsSync(join(pgDir, 'state.json'))) await (await attachPostgres(pgDir)).stop();
  await rm(dir, { recursive: true, force: true });
  process.stderr.write(`stopped (${dir})\n`);
  return 0;
}

const commands = { start, stop, status } as const;
process.exitCode = await commands[command as keyof typeof commands]();
