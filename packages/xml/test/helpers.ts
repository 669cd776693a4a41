import assert from 'node:assert/strict';

import { XmlError } from '../src/index.ts';
import type { XmlErrorCode } from '../src/index.ts';

/** Yields `data` as UTF-8 bytes in chunks of `size` bytes (1 = byte by byte, splitting multi-byte characters). */
export async function* chunks(data: string | Buffer, size = Number.MAX_SAFE_INTEGER): AsyncGenerator<Buffer> {
  const buf = typeof data === 'string' ? Buffer.from(data, 'utf8') : data;
  for (let i = 0; i < buf.length; i += size) yield buf.subarray(i, i + size);
}

/** Asserts that `promise` rejects with an XmlError of `code`. */
export async function rejectsWith(promise: Promise<unknown>, code: XmlErrorCode, reason?: RegExp): Promise<void> {
  await assert.rejects(promise, (err: unknown) => {
    assert.ok(err instanceof XmlError, `expected XmlError, got ${String(err)}`);
    assert.equal(err.code, code);
    if (reason) assert.match(err.reason, reason);
    return true;
  });
}
