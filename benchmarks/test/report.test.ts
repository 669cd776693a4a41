import { describe, it } from 'node:test';
import assert from 'node:assert/strict';
import { markdown, pairedRatio, ratio, summarize, type Cell, type Results } from '../src/report.ts';

function cell(samples: number[], status: Cell['status'] = 'ok'): Cell {
  const c: Cell = { status, samples };
  summarize(c);
  return c;
}

describe('ratios of the benchmark report', () => {
  it('should pair the rounds: the ratio of each round, then their median, min and max', () => {
    // The machine slowed down in rounds 2 and 3: both servers lost speed there.
    const coffer = cell([1500, 900, 800, 1600, 1550]);
    const s3rver = cell([1000, 600, 500, 1000, 1100]);
    const p = pairedRatio(coffer, s3rver)!;
    assert.deepEqual(Object.keys(p).sort(), ['max', 'median', 'min']);
    assert.equal(p.median, 1.5); // 1.5, 1.5, 1.6, 1.6, 1.409…
    assert.equal(p.min, 1550 / 1100);
    assert.equal(p.max, 1.6);
    assert.equal(ratio(coffer, s3rver), 1500 / 1000);
  });

  it('should give no paired ratio when a cell is not ok, has a missing round or a zero sample', () => {
    assert.equal(pairedRatio(cell([1, 2]), cell([1, 2], 'error')), null);
    assert.equal(pairedRatio(cell([1, 2, 3]), cell([1, 2])), null);
    assert.equal(pairedRatio(cell([1, 2]), cell([0, 2])), null);
    assert.equal(pairedRatio(undefined, cell([1])), null);
  });

  it('should print a table of the paired ratios next to the ratios of the medians', () => {
    const coffer = cell([300, 200, 310]);
    const s3rver = cell([200, 200, 150]);
    const res: Results = {
      date: '2026-11-27T00:00:00.000Z',
      quick: true,
      rounds: 3,
      durationSec: 10,
      machine: { cpus: 2, model: 'cpu', node: 'v20', platform: 'linux-x64' },
      notes: [],
      servers: ['coffer', 's3rver'],
      workloads: [
        {
          id: 'put',
          label: 'PUT 64 MiB ×1',
          op: 'put',
          size: 64 << 20,
          concurrency: 1,
          maxOps: 1,
          maxMs: 1,
          unit: 'MB/s',
          cells: { coffer, s3rver },
          ratios: { 'coffer/s3rver': ratio(coffer, s3rver), 'coffer/ceiling': null, 'pool/inline': null },
          paired: { 'coffer/s3rver': pairedRatio(coffer, s3rver), 'coffer/ceiling': null, 'pool/inline': null },
        },
      ],
    };
    const md = markdown(res);
    assert.match(
      md,
      /\| PUT 64 MiB ×1 \| MB\/s \| \*\*300\*\* \(200–310\) \| \*\*200\*\* \(150–200\) \| 1\.50× \| — \| — \|/,
    );
    assert.match(md, /\| PUT 64 MiB ×1 \| \*\*1\.50×\*\* \(1\.00–2\.07\) \| — \| — \|/);
  });
});
