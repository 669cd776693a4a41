import { randomFillSync } from 'node:crypto';

/** Bytes drawn from the CSPRNG at a time. */
const POOL_SIZE = 4096;
/** Requests larger than this go straight to the CSPRNG. */
const MAX_POOLED = 256;

const pool = Buffer.alloc(POOL_SIZE);
let offset = POOL_SIZE;

/**
 * `n` bytes from the CSPRNG, like `crypto.randomBytes(n)`, in a fresh Buffer. Small requests are served from a pool
 * that is refilled 4 KiB at a time: a PUT draws five small values (data key, salts, nonces, ids), and one
 * `randomBytes` call costs about 3 µs on the request thread against 0.2 µs for a copy out of the pool. Each pooled
 * byte is handed out once and zeroed in the pool as it is.
 */
export function secureRandom(n: number): Buffer {
  if (!Number.isInteger(n) || n < 0) throw new RangeError('n must be a non-negative integer');
  const out = Buffer.allocUnsafe(n);
  if (n > MAX_POOLED) return randomFillSync(out);
  if (offset + n > POOL_SIZE) {
    randomFillSync(pool);
    offset = 0;
  }
  pool.copy(out, 0, offset, offset + n);
  pool.fill(0, offset, offset + n);
  offset += n;
  return out;
}
