/**
 * The destination of the server's log: a log line never holds up a request. pino's own destination writes
 * synchronously; with the log on a full (or stuck) file system every request then waited on, or failed with, the
 * write of its log line. Here lines are written asynchronously, one write at a time, and queued up to a bound; a line
 * that does not fit, or whose write fails (ENOSPC, EIO, a closed pipe), is dropped and counted.
 */
import { write } from 'node:fs';

/** Bytes of log lines held while a write is in flight; past it, lines are dropped. */
const MAX_QUEUED = 1024 * 1024;
/** Wait before retrying a write that would block (a non-blocking pipe that is full). */
const RETRY_MS = 50;

/** A pino destination (anything with `write(line)`) over a file descriptor that drops what it cannot write. */
export class LogSink {
  readonly #fd: number;
  #queue: Buffer[] = [];
  #queued = 0;
  #writing = false;
  #dropped = 0;
  #idle: (() => void)[] = [];

  /** @param fd the file descriptor to write to (2: stderr) */
  constructor(fd: number) {
    this.#fd = fd;
  }

  /** Log lines dropped so far (queue full or write failed). */
  get dropped(): number {
    return this.#dropped;
  }

  /** Queues one line (pino calls it with one serialized line); never blocks, never throws. */
  write(line: string): boolean {
    const buf = Buffer.from(line);
    if (this.#queued + buf.length > MAX_QUEUED) {
      this.#dropped++;
      return true;
    }
    this.#queue.push(buf);
    this.#queued += buf.length;
    if (!this.#writing) this.#next();
    return true;
  }

  /** Resolves once everything queued is written or dropped, or after `ms` milliseconds (at exit). */
  flush(ms: number): Promise<void> {
    if (!this.#writing) return Promise.resolve();
    return new Promise<void>((resolve) => {
      const timer = setTimeout(resolve, ms);
      timer.unref();
      this.#idle.push(() => {
        clearTimeout(timer);
        resolve();
      });
    });
  }

  #next(): void {
    if (this.#queue.length === 0) {
      this.#writing = false;
      for (const resolve of this.#idle.splice(0)) resolve();
      return;
    }
    this.#writing = true;
    const lines = this.#queue.length;
    const chunk = lines === 1 ? this.#queue[0]! : Buffer.concat(this.#queue);
    this.#queue = [];
    this.#queued = 0;
    write(this.#fd, chunk, 0, chunk.length, null, (err, written) => {
      if (err && (err.code === 'EAGAIN' || err.code === 'EWOULDBLOCK')) {
        this.#requeue(chunk, lines);
        setTimeout(() => this.#next(), RETRY_MS).unref();
        return;
      }
      if (err) this.#dropped += lines;
      // A short write (the disk filled up mid-line): the rest is tried again, and fails or goes through.
      else if (written < chunk.length) this.#requeue(chunk.subarray(written), 1);
      this.#next();
    });
  }

  /** Puts unwritten bytes back in front of the queue, within the bound. */
  #requeue(rest: Buffer, lines: number): void {
    if (this.#queued + rest.length > MAX_QUEUED) {
      this.#dropped += lines;
      return;
    }
    this.#queue.unshift(rest);
    this.#queued += rest.length;
  }
}
