/**
 * The free-space reserve of the data directory (`coffer serve --min-free-space`): new data is refused with 507
 * `XCofferStorageFull` while the file system has less than the reserve free, so that LevelDB always has room to
 * commit the deletes that free space again (a metadata write that fails on a full disk stops all writes until the
 * database is reopened).
 */
import { statfs } from 'node:fs/promises';
import { S3Error } from './errors.ts';

/** The reserve: a number of bytes, or a percentage of the file system's size. */
export type SpaceReserve = { bytes: number } | { percent: number };

const MiB = 1024 * 1024;

/**
 * The default reserve: 256 MiB, enough for LevelDB to flush and compact its metadata (a few times its 4 MiB write
 * buffer and 2 MiB table files, and a level merged at once) and for every blob write in flight to fail cleanly, with
 * room to spare; but at most 10 % of a small file system, which would otherwise be mostly reserve.
 */
export const DEFAULT_RESERVE = Object.freeze({ bytes: 256 * MiB, capPercent: 10 });

const UNITS: Record<string, number> = {
  '': 1,
  b: 1,
  k: 1024,
  kb: 1000,
  kib: 1024,
  m: MiB,
  mb: 1e6,
  mib: MiB,
  g: 1024 * MiB,
  gb: 1e9,
  gib: 1024 * MiB,
  t: 1024 * 1024 * MiB,
  tb: 1e12,
  tib: 1024 * 1024 * MiB,
};

/**
 * Parses `--min-free-space`: bytes (`1073741824`), with a unit (`512MiB`, `1GiB`, `500MB`, `2G` = 2 GiB) or a
 * percentage of the file system (`5%`). Throws a RangeError naming the accepted forms.
 */
export function parseReserve(value: string): SpaceReserve {
  const m = /^\s*(\d+(?:\.\d+)?)\s*(%|[a-z]*)\s*$/i.exec(value);
  const unit = m?.[2]?.toLowerCase() ?? '';
  if (m && unit === '%') {
    const percent = Number(m[1]);
    if (percent <= 100) return { percent };
  } else if (m && unit in UNITS) {
    const bytes = Math.round(Number(m[1]) * UNITS[unit]!);
    if (Number.isSafeInteger(bytes)) return { bytes };
  }
  throw new RangeError('expected bytes, a size such as 512MiB or 1GiB, or a percentage such as 5%');
}

/** A sample of the file system holding the data directory. */
export interface SpaceSample {
  /** Bytes an unprivileged writer may still use. */
  free: number;
  /** Size of the file system. */
  total: number;
  /** The reserve in bytes, for this file system. */
  reserve: number;
}

/** How long a `statfs` sample is reused: a request costs no system call, and a burst of PUTs one per second. */
const SAMPLE_TTL_MS = 1000;

/**
 * Watches the free space of the data directory, from `statfs` samples reused for a second. A write that hits ENOSPC
 * anyway (the sample was stale, or another program filled the disk) calls {@link full}: new data is refused until a
 * fresh sample shows room again.
 */
export class DiskSpace {
  readonly #dir: string;
  readonly #reserve: SpaceReserve | undefined;
  #sample: SpaceSample | undefined;
  #taken = 0;
  /**
   * Bytes let in since the sample was taken: counted as used until the next sample, so that a burst of writes within
   * one sample's life cannot run past the reserve (the sample would otherwise show the room they are about to take).
   */
  #admitted = 0;
  #pending: Promise<SpaceSample> | undefined;
  #full = false;

  /**
   * @param dir the data directory
   * @param reserve the reserve; {@link DEFAULT_RESERVE} when absent
   */
  constructor(dir: string, reserve?: SpaceReserve) {
    this.#dir = dir;
    this.#reserve = reserve;
  }

  /** The current sample (taken again once it is a second old, or after {@link full}). */
  async sample(): Promise<SpaceSample> {
    if (this.#sample && Date.now() - this.#taken < SAMPLE_TTL_MS) return this.#sample;
    this.#pending ??= this.#take().finally(() => {
      this.#pending = undefined;
    });
    return this.#pending;
  }

  async #take(): Promise<SpaceSample> {
    const s = await statfs(this.#dir);
    const total = s.blocks * s.bsize;
    const free = s.bavail * s.bsize;
    this.#sample = { free, total, reserve: this.#reserveOf(total) };
    this.#taken = Date.now();
    this.#admitted = 0;
    this.#full = false;
    return this.#sample;
  }

  #reserveOf(total: number): number {
    const r = this.#reserve;
    if (r === undefined) return Math.min(DEFAULT_RESERVE.bytes, Math.floor((total * DEFAULT_RESERVE.capPercent) / 100));
    return 'bytes' in r ? r.bytes : Math.floor((total * r.percent) / 100);
  }

  /**
   * Throws 507 `XCofferStorageFull` unless `incoming` more bytes leave the reserve free. Statfs failing is no reason
   * to refuse: the write itself then finds out.
   */
  async admit(incoming: number): Promise<void> {
    let s: SpaceSample;
    try {
      s = await this.sample();
    } catch {
      return;
    }
    if (this.#full || s.free - this.#admitted - incoming < s.reserve) throw new S3Error('XCofferStorageFull');
    this.#admitted += incoming;
  }

  /** A write found the disk full: refuse new data until a fresh sample shows room. */
  full(): void {
    this.#full = true;
    this.#taken = Date.now();
  }
}
