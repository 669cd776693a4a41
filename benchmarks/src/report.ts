/**
 * The runner's outputs: the markdown table (RESULTS.md and stdout), the JSON and the SVG chart.
 */
import { SERVER_NAMES, type ServerKind } from './servers.ts';

/** One workload. */
export interface Workload {
  id: string;
  label: string;
  op: 'put' | 'get' | 'mpu';
  size: number;
  concurrency: number;
  /** Parts in flight (multipart). */
  parts?: number;
  /** Stop starting new operations after this many… */
  maxOps: number;
  /** …or after this long (ms), whichever comes first; at least one operation per worker runs. */
  maxMs: number;
  /** What is reported: MB/s (MiB/s) or operations per second. */
  unit: 'MB/s' | 'ops/s';
}

/** The result of one server on one workload over all rounds. */
export interface Cell {
  status: 'ok' | 'n/a' | 'error';
  note?: string;
  samples: number[];
  median?: number;
  min?: number;
  max?: number;
  /** Peak RSS of the server process over the rounds, bytes. */
  peakRss?: number;
}

/** Everything a run produced. */
export interface Results {
  date: string;
  quick: boolean;
  rounds: number;
  durationSec: number;
  machine: { cpus: number; model: string; node: string; platform: string };
  notes: string[];
  servers: ServerKind[];
  workloads: (Workload & {
    cells: Partial<Record<ServerKind, Cell>>;
    /** Ratios of the medians. */
    ratios: Record<string, number | null>;
    /** The same ratios taken round by round (both servers ran back to back in each round): median, min, max. */
    paired?: Record<string, PairedRatio | null>;
  })[];
}

/** Summary of the per-round ratios of two servers. */
export interface PairedRatio {
  median: number;
  min: number;
  max: number;
}

/** Median, min and max of the samples. */
export function summarize(cell: Cell): void {
  if (cell.samples.length === 0) return;
  const s = [...cell.samples].sort((a, b) => a - b);
  const mid = s.length >> 1;
  cell.median = s.length % 2 ? s[mid]! : (s[mid - 1]! + s[mid]!) / 2;
  cell.min = s[0];
  cell.max = s[s.length - 1];
}

/** Ratio of medians, or null. */
export function ratio(a: Cell | undefined, b: Cell | undefined): number | null {
  if (!a?.median || !b?.median || a.status !== 'ok' || b.status !== 'ok') return null;
  return a.median / b.median;
}

/**
 * The ratio a/b round by round: sample i of each cell comes from round i, where the two servers ran one right after
 * the other, so each ratio compares them on the machine as it was then (this machine's speed drifts from minute to
 * minute, which a ratio of medians taken from different rounds does not cancel). Null unless both cells are ok and
 * have a sample from every round.
 */
export function pairedRatio(a: Cell | undefined, b: Cell | undefined): PairedRatio | null {
  if (
    !a ||
    !b ||
    a.status !== 'ok' ||
    b.status !== 'ok' ||
    a.samples.length === 0 ||
    a.samples.length !== b.samples.length
  )
    return null;
  if (b.samples.some((v) => !(v > 0))) return null;
  const cell: Cell = { status: 'ok', samples: a.samples.map((v, i) => v / b.samples[i]!) };
  summarize(cell);
  return { median: cell.median!, min: cell.min!, max: cell.max! };
}

function fmt(v: number): string {
  return v >= 100 ? v.toFixed(0) : v >= 10 ? v.toFixed(1) : v.toFixed(2);
}

function cellText(c: Cell | undefined): string {
  if (!c) return '—';
  if (c.status === 'n/a') return `n/a${c.note ? ` (${c.note})` : ''}`;
  if (c.status === 'error') return `error${c.note ? `: ${c.note}` : ''}`;
  if (c.median === undefined) return '—';
  return `**${fmt(c.median)}** (${fmt(c.min!)}–${fmt(c.max!)})`;
}

function ratioText(r: number | null | undefined): string {
  return r === null || r === undefined ? '—' : `${r.toFixed(2)}×`;
}

function pairedText(r: PairedRatio | null | undefined): string {
  return r ? `**${r.median.toFixed(2)}×** (${r.min.toFixed(2)}–${r.max.toFixed(2)})` : '—';
}

/** The ratios the tables show, by key in `ratios` / `paired`: the first three always, the others when measured. */
const RATIO_LABELS: Record<string, string> = {
  'coffer/s3rver': 'Coffer / s3rver',
  'coffer/ceiling': 'Coffer / ceiling',
  'pool/inline': 'pool / inline',
  'ceph/radosgw': 'Coffer on Ceph / radosgw',
  'ceph2/radosgw': 'Coffer on Ceph, 2 nodes / radosgw',
};

/** The ratio keys of a run's tables. */
function ratioKeys(res: Results): string[] {
  return Object.keys(RATIO_LABELS).filter((k, i) => i < 3 || res.workloads.some((w) => w.ratios[k] !== undefined));
}

/** The markdown report. */
export function markdown(res: Results): string {
  const servers = res.servers;
  const RATIO_KEYS = ratioKeys(res);
  const ratioHeads = RATIO_KEYS.map((k) => RATIO_LABELS[k]).join(' | ');
  const ratioRule = RATIO_KEYS.map(() => '---:').join('|');
  const lines: string[] = [];
  lines.push(`# Coffer benchmark results${res.quick ? ' (quick run)' : ''}`);
  lines.push('');
  lines.push(
    `${res.date} · ${res.machine.cpus} × ${res.machine.model} · Node ${res.machine.node} · ${res.rounds} rounds, servers alternated round by round · ${res.durationSec.toFixed(0)} s`,
  );
  lines.push('');
  lines.push('Median of the rounds, (min–max). MB/s = MiB per second of object data; ops/s for 4 KiB objects.');
  lines.push('');
  lines.push(`| workload | unit | ${servers.map((s) => SERVER_NAMES[s]).join(' | ')} | ${ratioHeads} |`);
  lines.push(`|---|---|${servers.map(() => '---:').join('|')}|${ratioRule}|`);
  for (const w of res.workloads) {
    lines.push(
      `| ${w.label} | ${w.unit} | ${servers.map((s) => cellText(w.cells[s])).join(' | ')} | ${RATIO_KEYS.map((k) => ratioText(w.ratios[k])).join(' | ')} |`,
    );
  }
  if (res.workloads.some((w) => w.paired && RATIO_KEYS.some((k) => w.paired![k]))) {
    lines.push('');
    lines.push(
      'The same ratios round by round (in each round the servers ran one right after the other, so each ratio compares them on the machine as it was then): median of the rounds, (min–max).',
    );
    lines.push('');
    lines.push(`| workload | ${ratioHeads} |`);
    lines.push(`|---|${ratioRule}|`);
    for (const w of res.workloads)
      lines.push(`| ${w.label} | ${RATIO_KEYS.map((k) => pairedText(w.paired?.[k])).join(' | ')} |`);
  }
  lines.push('');
  lines.push('Peak RSS of each server process during the workload (MiB, highest over the rounds):');
  lines.push('');
  lines.push(`| workload | ${servers.map((s) => SERVER_NAMES[s]).join(' | ')} |`);
  lines.push(`|---|${servers.map(() => '---:').join('|')}|`);
  for (const w of res.workloads) {
    lines.push(
      `| ${w.label} | ${servers
        .map((s) => {
          const c = w.cells[s];
          return c?.peakRss ? (c.peakRss / 1048576).toFixed(0) : '—';
        })
        .join(' | ')} |`,
    );
  }
  if (res.notes.length > 0) {
    lines.push('');
    for (const n of res.notes) lines.push(`- ${n}`);
  }
  lines.push('');
  return lines.join('\n');
}

const COLORS: Partial<Record<ServerKind, string>> = {
  coffer: '#2a6fdb',
  s3rver: '#e07b24',
  ceiling: '#8a8a8a',
  'coffer-inline': '#7fb2f0',
  'coffer-pool': '#1b3f80',
};

function esc(s: string): string {
  return s.replace(/&/g, '&amp;').replace(/</g, '&lt;');
}

/**
 * An SVG of MB/s by object size: one panel per (operation, concurrency), grouped bars per size for Coffer,
 * s3rver and the ceiling (and Coffer with the pool off, when it ran). Written by hand: no chart library.
 */
export function chartSvg(res: Results): string {
  const series = (['coffer', 'coffer-pool', 'coffer-inline', 's3rver', 'ceiling'] as ServerKind[]).filter((s) =>
    res.servers.includes(s),
  );
  const mbps = res.workloads.filter((w) => w.unit === 'MB/s' && w.op !== 'mpu');
  const panelsKeys = [...new Set(mbps.map((w) => `${w.op}|${w.concurrency}`))];
  const panelW = 420;
  const panelH = 260;
  const cols = Math.min(2, Math.max(1, panelsKeys.length));
  const rows = Math.ceil(panelsKeys.length / cols);
  const W = cols * panelW + 20;
  const H = rows * panelH + 70;
  const out: string[] = [];
  out.push(
    `<svg xmlns="http://www.w3.org/2000/svg" width="${W}" height="${H}" viewBox="0 0 ${W} ${H}" font-family="sans-serif" font-size="11">`,
  );
  out.push(`<rect width="${W}" height="${H}" fill="#fff"/>`);
  out.push(
    `<text x="${W / 2}" y="20" text-anchor="middle" font-size="14" font-weight="bold">MB/s by object size (median of ${res.rounds} rounds${res.quick ? ', quick run' : ''})</text>`,
  );
  series.forEach((s, i) => {
    const x = 20 + i * 150;
    out.push(
      `<rect x="${x}" y="32" width="12" height="12" fill="${COLORS[s]}"/><text x="${x + 16}" y="42">${esc(SERVER_NAMES[s])}</text>`,
    );
  });
  panelsKeys.forEach((key, pi) => {
    const [op, conc] = key.split('|');
    const ws = mbps.filter((w) => `${w.op}|${w.concurrency}` === key).sort((a, b) => a.size - b.size);
    const ox = 10 + (pi % cols) * panelW;
    const oy = 60 + Math.floor(pi / cols) * panelH;
    const plotX = ox + 50;
    const plotY = oy + 25;
    const plotW = panelW - 70;
    const plotH = panelH - 75;
    const max = Math.max(1, ...ws.flatMap((w) => series.map((s) => w.cells[s]?.median ?? 0)));
    const step = niceStep(max / 4);
    const top = Math.ceil(max / step) * step;
    out.push(
      `<text x="${ox + panelW / 2}" y="${oy + 15}" text-anchor="middle" font-weight="bold">${op!.toUpperCase()} at concurrency ${conc}</text>`,
    );
    for (let v = 0; v <= top + 1e-9; v += step) {
      const y = plotY + plotH - (v / top) * plotH;
      out.push(
        `<line x1="${plotX}" x2="${plotX + plotW}" y1="${y}" y2="${y}" stroke="#ddd"/><text x="${plotX - 4}" y="${y + 4}" text-anchor="end">${fmt(v)}</text>`,
      );
    }
    out.push(
      `<text x="${ox + 12}" y="${plotY + plotH / 2}" transform="rotate(-90 ${ox + 12} ${plotY + plotH / 2})" text-anchor="middle">MB/s</text>`,
    );
    const groupW = plotW / Math.max(1, ws.length);
    const barW = Math.min(28, (groupW - 16) / series.length);
    ws.forEach((w, gi) => {
      const gx = plotX + gi * groupW + (groupW - barW * series.length) / 2;
      series.forEach((s, si) => {
        const c = w.cells[s];
        const v = c?.status === 'ok' ? (c.median ?? 0) : 0;
        const h = (v / top) * plotH;
        const x = gx + si * barW;
        out.push(
          `<rect x="${x.toFixed(1)}" y="${(plotY + plotH - h).toFixed(1)}" width="${(barW - 2).toFixed(1)}" height="${h.toFixed(1)}" fill="${COLORS[s]}"><title>${esc(SERVER_NAMES[s])} ${esc(w.label)}: ${fmt(v)} MB/s</title></rect>`,
        );
        out.push(
          `<text x="${(x + barW / 2 - 1).toFixed(1)}" y="${(plotY + plotH - h - 3).toFixed(1)}" text-anchor="middle" font-size="9">${c?.status === 'ok' ? fmt(v) : 'n/a'}</text>`,
        );
      });
      out.push(
        `<text x="${(plotX + gi * groupW + groupW / 2).toFixed(1)}" y="${plotY + plotH + 16}" text-anchor="middle">${sizeLabel(w.size)}</text>`,
      );
    });
    out.push(`<line x1="${plotX}" x2="${plotX + plotW}" y1="${plotY + plotH}" y2="${plotY + plotH}" stroke="#333"/>`);
  });
  out.push('</svg>');
  return out.join('\n') + '\n';
}

function niceStep(raw: number): number {
  const p = 10 ** Math.floor(Math.log10(raw || 1));
  for (const m of [1, 2, 2.5, 5, 10]) if (m * p >= raw) return m * p;
  return 10 * p;
}

/** "4 KiB", "1 MiB", "1 GiB". */
export function sizeLabel(n: number): string {
  if (n >= 1 << 30) return `${n / (1 << 30)} GiB`;
  if (n >= 1 << 20) return `${n / (1 << 20)} MiB`;
  return `${n / 1024} KiB`;
}
