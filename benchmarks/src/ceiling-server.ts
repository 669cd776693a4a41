/**
 * The ceiling: the fastest "S3 server" plain node:http can be on this machine. It checks nothing, stores nothing:
 * a PUT's body is read and discarded, a GET answers with as many bytes as the last PUT of that key had, from one
 * buffer in memory. Enough of the protocol for the runner's workloads (bucket create, PUT, GET, multipart).
 *
 *   node --import tsx benchmarks/src/ceiling-server.ts [PORT]   → prints "ceiling listening on http://127.0.0.1:PORT"
 */
import { randomBytes, randomUUID } from 'node:crypto';
import { createServer, type IncomingMessage, type ServerResponse } from 'node:http';

const FILL = randomBytes(1024 * 1024);
const sizes = new Map<string, number>();
const uploads = new Map<string, number>(); // uploadId → bytes so far

function drain(req: IncomingMessage): Promise<number> {
  return new Promise((resolve, reject) => {
    let n = 0;
    req.on('data', (c: Buffer) => (n += c.length));
    req.on('end', () => resolve(n));
    req.on('error', reject);
  });
}

function xml(res: ServerResponse, body: string): void {
  res.writeHead(200, { 'content-type': 'application/xml', 'content-length': Buffer.byteLength(body) });
  res.end(body);
}

/** Writes `size` bytes from FILL, respecting backpressure. */
function sendBytes(res: ServerResponse, size: number): void {
  res.writeHead(200, { 'content-type': 'application/octet-stream', 'content-length': size, etag: '"ceiling"' });
  let left = size;
  const pump = (): void => {
    while (left > 0) {
      const n = Math.min(left, FILL.length);
      left -= n;
      if (!res.write(n === FILL.length ? FILL : FILL.subarray(0, n))) {
        res.once('drain', pump);
        return;
      }
    }
    res.end();
  };
  pump();
}

async function handle(req: IncomingMessage, res: ServerResponse): Promise<void> {
  const url = new URL(req.url ?? '/', 'http://x');
  const parts = url.pathname.split('/').filter(Boolean);
  const objectKey = parts.join('/');
  const q = url.searchParams;
  if (req.method === 'PUT') {
    const n = await drain(req);
    if (parts.length < 2) {
      res.writeHead(200, { 'content-length': 0 }).end();
      return;
    }
    const uploadId = q.get('uploadId');
    if (uploadId !== null) uploads.set(uploadId, (uploads.get(uploadId) ?? 0) + n);
    else sizes.set(objectKey, n);
    res.writeHead(200, { etag: '"ceiling"', 'content-length': 0 }).end();
    return;
  }
  if (req.method === 'POST' && q.has('uploads')) {
    await drain(req);
    const id = randomUUID();
    uploads.set(id, 0);
    xml(
      res,
      `<?xml version="1.0" encoding="UTF-8"?><InitiateMultipartUploadResult><Bucket>${parts[0]}</Bucket><Key>${parts.slice(1).join('/')}</Key><UploadId>${id}</UploadId></InitiateMultipartUploadResult>`,
    );
    return;
  }
  if (req.method === 'POST' && q.has('uploadId')) {
    await drain(req);
    const id = q.get('uploadId')!;
    sizes.set(objectKey, uploads.get(id) ?? 0);
    uploads.delete(id);
    xml(
      res,
      `<?xml version="1.0" encoding="UTF-8"?><CompleteMultipartUploadResult><Key>${parts.slice(1).join('/')}</Key><ETag>"ceiling-1"</ETag></CompleteMultipartUploadResult>`,
    );
    return;
  }
  if (req.method === 'GET' || req.method === 'HEAD') {
    const size = sizes.get(objectKey);
    if (size === undefined) {
      res.writeHead(404, { 'content-length': 0 }).end();
      return;
    }
    if (req.method === 'HEAD') res.writeHead(200, { 'content-length': size }).end();
    else sendBytes(res, size);
    return;
  }
  if (req.method === 'DELETE') {
    await drain(req);
    sizes.delete(objectKey);
    res.writeHead(204).end();
    return;
  }
  res.writeHead(405, { 'content-length': 0 }).end();
}

const server = createServer((req, res) => {
  handle(req, res).catch(() => res.destroy());
});
server.keepAliveTimeout = 60_000;
server.listen(Number(process.argv[2] ?? 0), '127.0.0.1', () => {
  const a = server.address();
  process.stdout.write(`ceiling listening on http://127.0.0.1:${typeof a === 'object' && a ? a.port : 0}\n`);
});
const stop = (): void => {
  server.close(() => process.exit(0));
  server.closeAllConnections();
};
process.once('SIGTERM', stop);
process.once('SIGINT', stop);
