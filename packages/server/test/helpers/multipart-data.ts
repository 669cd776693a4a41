/**
 * Large deterministic test data for the multipart tests, generated and hashed as a stream (never held whole), and
 * a reader of a process's peak resident memory.
 */
import { createCipheriv, createHash } from 'node:crypto';
import { createReadStream, createWriteStream } from 'node:fs';
import { readFile } from 'node:fs/promises';
import { Readable } from 'node:stream';
import { pipeline } from 'node:stream/promises';

const PIECE = 1024 * 1024;

/**
 * `size` deterministic pseudo-random bytes (the AES-256-CTR keystream of a key derived from `seed`), produced in
 * 1 MiB pieces on demand. `onData` sees every piece (to hash what was sent without keeping it).
 */
export function deterministicStream(size: number, seed = 'coffer', onData?: (b: Buffer) => void): Readable {
  const key = createHash('sha256').update(seed).digest();
  const cipher = createCipheriv('aes-256-ctr', key, Buffer.alloc(16));
  const zeros = Buffer.alloc(PIECE);
  let sent = 0;
  return new Readable({
    highWaterMark: PIECE,
    read() {
      if (sent >= size) {
        this.push(null);
        return;
      }
      const n = Math.min(PIECE, size - sent);
      const piece = cipher.update(zeros.subarray(0, n));
      sent += n;
      onData?.(piece);
      this.push(piece);
    },
  });
}

/** Writes {@link deterministicStream} to a file; returns its MD5 hex. */
export async function writeDeterministicFile(path: string, size: number, seed = 'coffer'): Promise<string> {
  const hash = createHash('md5');
  await pipeline(
    deterministicStream(size, seed, (b) => hash.update(b)),
    createWriteStream(path),
  );
  return hash.digest('hex');
}

/** MD5 hex and length of a stream, read to its end. */
export async function hashStream(stream: AsyncIterable<Uint8Array>): Promise<{ md5: string; size: number }> {
  const hash = createHash('md5');
  let size = 0;
  for await (const chunk of stream) {
    hash.update(chunk);
    size += chunk.length;
  }
  return { md5: hash.digest('hex'), size };
}

/** MD5 hex and size of a file. */
export function hashFile(path: string): Promise<{ md5: string; size: number }> {
  return hashStream(createReadStream(path, { highWaterMark: PIECE }));
}

/** Peak resident set size (VmHWM) of a live process, in bytes (Linux /proc). */
export async function peakRss(pid: number): Promise<number> {
  const status = await readFile(`/proc/${pid}/status`, 'utf8');
  const m = /^VmHWM:\s+(\d+)\s+kB$/m.exec(status);
  if (!m) throw new Error(`no VmHWM in /proc/${pid}/status`);
  return Number(m[1]) * 1024;
}
