import assert from 'node:assert/strict';
import { mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { after, describe, it } from 'node:test';

import { LevelEngine } from '../src/index.ts';
import { runEngineConformance } from '../src/testing.ts';

const dirs: string[] = [];
const locations = new WeakMap<object, string>();
after(async () => {
  for (const d of dirs) await rm(d, { recursive: true, force: true });
});

async function fresh(): Promise<LevelEngine> {
  const dir = await mkdtemp(join(tmpdir(), 'coffer-kv-'));
  dirs.push(dir);
  const engine = await LevelEngine.open(dir);
  locations.set(engine, dir);
  return engine;
}

runEngineConformance('leveldb', {
  open: fresh,
  async reopen(engine) {
    const dir = locations.get(engine)!;
    await engine.close();
    const again = await LevelEngine.open(dir);
    locations.set(again, dir);
    return again;
  },
});

describe('LevelEngine.open', () => {
  it('should check its options', async () => {
    await assert.rejects(LevelEngine.open('/nonexistent', { sync: 'yes' as unknown as boolean }), /options\.sync must be a boolean/);
    await assert.rejects(LevelEngine.open('/nonexistent', { maxGroup: 0 }), /options\.maxGroup must be a positive whole number/);
  });
});
