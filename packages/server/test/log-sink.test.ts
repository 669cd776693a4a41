import { describe, it } from 'node:test';
import assert from 'node:assert/strict';
import { closeSync, openSync } from 'node:fs';
import { mkdtemp, readFile, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { LogSink } from '../src/log-sink.ts';

describe('LogSink', () => {
  it('should write every line, in order', async () => {
    const dir = await mkdtemp(join(tmpdir(), 'coffer-log-'));
    const fd = openSync(join(dir, 'log'), 'a');
    try {
      const sink = new LogSink(fd);
      for (let i = 0; i < 100; i++) sink.write(`line ${i}\n`);
      await sink.flush(10_000);
      assert.equal(sink.dropped, 0);
      const want = Array.from({ length: 100 }, (_, i) => `line ${i}\n`).join('');
      assert.equal(await readFile(join(dir, 'log'), 'utf8'), want);
    } finally {
      closeSync(fd);
      await rm(dir, { recursive: true, force: true });
    }
  });

  it('should drop and count lines it cannot write (ENOSPC from /dev/full), without throwing or waiting', async () => {
    const fd = openSync('/dev/full', 'w');
    try {
      const sink = new LogSink(fd);
      for (let i = 0; i < 5; i++) assert.equal(sink.write(`line ${i}\n`), true);
      await sink.flush(10_000);
      assert.equal(sink.dropped, 5);
      sink.write('one more\n');
      await sink.flush(10_000);
      assert.equal(sink.dropped, 6);
    } finally {
      closeSync(fd);
    }
  });
});
