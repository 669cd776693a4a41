/**
 * Keep-alive: an SDK client reuses an idle connection for its next request. Node's server closes idle connections
 * after 5 s, so a request sent on one at that moment fails with ECONNRESET (and a streamed body cannot be retried).
 * Coffer keeps idle connections as long as common load balancers do.
 */
import assert from 'node:assert/strict';
import { connect, type Socket } from 'node:net';
import { after, before, describe, it } from 'node:test';

import { sleep } from './helpers/assert.ts';
import { startServer, type RunningServer } from './helpers/server.ts';

/** Sends one request on `socket` and resolves with the status line of the answer once its headers are in. */
function exchange(socket: Socket, port: number): Promise<string> {
  return new Promise((res, rej) => {
    let text = '';
    const onData = (b: Buffer) => {
      text += b.toString('latin1');
      const head = text.indexOf('\r\n\r\n');
      if (head < 0) return;
      const length = Number(/\r\ncontent-length: *(\d+)/i.exec(text.slice(0, head))?.[1] ?? 0);
      if (text.length < head + 4 + length) return;
      socket.off('data', onData);
      socket.off('error', rej);
      res(text.slice(0, text.indexOf('\r\n')));
    };
    socket.on('data', onData);
    socket.once('error', rej);
    socket.write(`GET / HTTP/1.1\r\nHost: 127.0.0.1:${port}\r\nConnection: keep-alive\r\n\r\n`);
  });
}

describe('keep-alive connections', () => {
  let server: RunningServer;
  before(async () => {
    server = await startServer();
  });
  after(async () => {
    await server?.stop();
  });

  it('should keep an idle connection open past Node’s 5 s default and answer the next request on it', async () => {
    const socket = connect({ host: '127.0.0.1', port: server.port });
    await new Promise((r) => socket.once('connect', r));
    let closedAt: string | undefined;
    socket.once('end', () => (closedAt ??= 'end'));
    socket.once('close', () => (closedAt ??= 'close'));
    try {
      assert.match(await exchange(socket, server.port), /^HTTP\/1\.1 \d{3} /);
      await sleep(6_500);
      assert.equal(closedAt, undefined, 'the server closed the idle connection');
      assert.match(await exchange(socket, server.port), /^HTTP\/1\.1 \d{3} /);
    } finally {
      socket.destroy();
    }
  });
});
