import assert from 'node:assert/strict';
import { once } from 'node:events';
import { createServer, request } from 'node:http';
import type { AddressInfo } from 'node:net';
import { Readable } from 'node:stream';
import { describe, it } from 'node:test';

import { DEFAULT_PARSE_OPTIONS, parseXml, XmlError } from '../src/index.ts';
import { chunks, rejectsWith } from './helpers.ts';

describe('parseXml', () => {
  it('should build the element tree with prefixes stripped and attributes kept', async () => {
    const root = await parseXml(
      chunks(
        '<s3:Delete xmlns:s3="http://s3.amazonaws.com/doc/2006-03-01/"><s3:Object><s3:Key>a</s3:Key></s3:Object></s3:Delete>',
      ),
    );
    assert.deepEqual(root, {
      name: 'Delete',
      attributes: { 'xmlns:s3': 'http://s3.amazonaws.com/doc/2006-03-01/' },
      children: [
        {
          name: 'Object',
          attributes: {},
          text: '',
          children: [{ name: 'Key', attributes: {}, children: [], text: 'a' }],
        },
      ],
      text: '',
    });
  });

  it('should keep text exactly, with entities, character references and CDATA decoded', async () => {
    const root = await parseXml(
      chunks(
        '<a>  lead &amp; &lt;x&gt; &quot;q&quot; &apos;s&apos; &#x263A;&#9731; <![CDATA[<raw>&amp;]]> \ttrail\n </a>',
      ),
    );
    assert.equal(root?.text, '  lead & <x> "q" \'s\' ☺☃ <raw>&amp; \ttrail\n ');
  });

  it('should accept an XML declaration and a byte order mark', async () => {
    const root = await parseXml(chunks('\uFEFF<?xml version="1.0" encoding="UTF-8"?>\n<a>x</a>\n'));
    assert.equal(root?.name, 'a');
    assert.equal(root?.text, 'x');
  });

  it('should resolve undefined for an empty or whitespace-only body', async () => {
    assert.equal(await parseXml(chunks('')), undefined);
    assert.equal(await parseXml(chunks(' \r\n\t ')), undefined);
    assert.equal(await parseXml((async function* () {})()), undefined);
  });

  it('should decode multi-byte UTF-8 split across 1-byte chunks', async () => {
    const key = 'é/日本語/😀 ü';
    const root = await parseXml(chunks(`<Key>${key}</Key>`, 1));
    assert.equal(root?.text, key);
  });

  it('should decode chunks split at every position', async () => {
    const xml = '<a b="ü">日本😀&amp;</a>';
    for (let size = 1; size <= Buffer.byteLength(xml); size++) {
      const root = await parseXml(chunks(xml, size));
      assert.equal(root?.text, '日本😀&', `chunk size ${size}`);
      assert.deepEqual(root?.attributes, { b: 'ü' });
    }
  });

  it('should accept string chunks and a Readable', async () => {
    assert.equal(
      (
        await parseXml(
          (async function* () {
            yield '<a>h';
            yield 'é</a>';
          })(),
        )
      )?.text,
      'hé',
    );
    assert.equal((await parseXml(Readable.from([Buffer.from('<a>'), Buffer.from('x</a>')])))?.text, 'x');
  });

  it('should reject malformed XML with XML_MALFORMED', async () => {
    const bodies = [
      '<a>',
      '<a><b></a>',
      '<a></b>',
      'garbage',
      'garbage<a/>',
      '<a/>garbage',
      '<a/><b/>',
      '<?xml version="1.0"?>',
      '<a>&unknown;</a>',
      '<a>&amp</a>',
      '<a b=c/>',
      '<a><',
      '<a>&#0;</a>',
      '<a>&#x1;</a>',
    ];
    for (const body of bodies) await rejectsWith(parseXml(chunks(body)), 'XML_MALFORMED');
  });

  it('should reject a DOCTYPE without expanding entities', async () => {
    const laughs =
      '<?xml version="1.0"?><!DOCTYPE lolz [<!ENTITY lol "lol"><!ENTITY lol2 "&lol;&lol;&lol;&lol;">]><lolz>&lol2;</lolz>';
    await rejectsWith(parseXml(chunks(laughs)), 'XML_MALFORMED', /DOCTYPE/);
    const xxe = '<!DOCTYPE a [<!ENTITY x SYSTEM "file:///etc/passwd">]><a>&x;</a>';
    await rejectsWith(parseXml(chunks(xxe, 3)), 'XML_MALFORMED', /DOCTYPE/);
    await rejectsWith(parseXml(chunks('<!DOCTYPE a><a/>')), 'XML_MALFORMED', /DOCTYPE/);
  });

  it('should reject with XML_TOO_LARGE as soon as the cap is passed and stop reading', async () => {
    let yielded = 0;
    let closed = false;
    async function* endless(): AsyncGenerator<Buffer> {
      try {
        yield Buffer.from('<a>');
        for (;;) {
          yielded++;
          yield Buffer.alloc(1024, 'x');
        }
      } finally {
        closed = true;
      }
    }
    await rejectsWith(parseXml(endless(), { maxBytes: 10 * 1024 }), 'XML_TOO_LARGE');
    assert.equal(yielded, 10);
    await new Promise((r) => setImmediate(r));
    assert.equal(closed, true);
  });

  it('should leave a Readable undestroyed and drainable when it stops early', async () => {
    const source = new Readable({ read() {} });
    source.push(Buffer.from('<a>'));
    source.push(Buffer.alloc(4096, 'x'));
    await rejectsWith(parseXml(source, { maxBytes: 1024 }), 'XML_TOO_LARGE');
    await new Promise((r) => setImmediate(r));
    assert.equal(source.destroyed, false);
    assert.equal(source.listenerCount('readable'), 0);
    let drained = 0;
    source.on('data', (c: Buffer) => (drained += c.length));
    source.push(Buffer.alloc(10));
    source.push(null);
    await new Promise((r) => source.once('end', r));
    assert.equal(drained, 10);
  });

  it('should let an HTTP server answer after rejecting an oversized request body', async () => {
    const server = createServer((req, res) => {
      parseXml(req, { maxBytes: 1024 }).then(
        () => res.end('parsed'),
        (err: XmlError) => {
          res.writeHead(400, { connection: 'close' }).end(err.code);
          req.resume();
        },
      );
    });
    server.listen(0, '127.0.0.1');
    await once(server, 'listening');
    try {
      const { port } = server.address() as AddressInfo;
      const req = request({ host: '127.0.0.1', port, method: 'POST', path: '/' });
      req.end(`<a>${'x'.repeat(8192)}</a>`);
      const [res] = (await once(req, 'response')) as [import('node:http').IncomingMessage];
      let body = '';
      for await (const c of res) body += String(c);
      assert.equal(res.statusCode, 400);
      assert.equal(body, 'XML_TOO_LARGE');
    } finally {
      server.close();
    }
  });

  it('should apply the 1 MiB default cap and accept a body of exactly maxBytes', async () => {
    assert.equal(DEFAULT_PARSE_OPTIONS.maxBytes, 1024 * 1024);
    assert.ok(Object.isFrozen(DEFAULT_PARSE_OPTIONS));
    const filler = 'x'.repeat(1024 * 1024 - '<a></a>'.length);
    assert.equal((await parseXml(chunks(`<a>${filler}</a>`, 65536)))?.text.length, filler.length);
    await rejectsWith(parseXml(chunks(`<a>${filler}x</a>`, 65536)), 'XML_TOO_LARGE');
    await rejectsWith(parseXml(chunks('<a>ü</a>'), { maxBytes: 8 }), 'XML_TOO_LARGE');
    assert.equal((await parseXml(chunks('<a>ü</a>'), { maxBytes: 9 }))?.text, 'ü');
  });

  it('should reject with the abort reason when the signal fires while the source waits', async () => {
    const ac = new AbortController();
    let closed = false;
    async function* stuck(): AsyncGenerator<Buffer> {
      try {
        yield Buffer.from('<a>');
        await new Promise((r) => setTimeout(r, 200));
        yield Buffer.from('</a>');
      } finally {
        closed = true;
      }
    }
    const p = parseXml(stuck(), { signal: ac.signal });
    setTimeout(() => ac.abort(new Error('client went away')), 10);
    await assert.rejects(p, /client went away/);
    await new Promise((r) => setTimeout(r, 250));
    assert.equal(closed, true);
    await assert.rejects(parseXml(chunks('<a/>'), { signal: AbortSignal.abort() }), { name: 'AbortError' });
  });

  it('should propagate an error of the source', async () => {
    async function* failing(): AsyncGenerator<Buffer> {
      yield Buffer.from('<a>');
      throw new Error('socket reset');
    }
    await assert.rejects(parseXml(failing()), /socket reset/);
  });

  it('should check its options', async () => {
    await assert.rejects(parseXml(chunks('<a/>'), { maxBytes: 0 }), {
      name: 'RangeError',
      message: /options\.maxBytes/,
    });
    await assert.rejects(parseXml(chunks('<a/>'), { maxBytes: 1.5 }), {
      name: 'RangeError',
      message: /options\.maxBytes/,
    });
    await assert.rejects(parseXml(chunks('<a/>'), { maxBytes: '10' as unknown as number }), {
      name: 'TypeError',
      message: /options\.maxBytes/,
    });
    await assert.rejects(parseXml(chunks('<a/>'), { signal: {} as AbortSignal }), {
      name: 'TypeError',
      message: /options\.signal/,
    });
    await assert.rejects(parseXml('<a/>' as unknown as AsyncIterable<string>), {
      name: 'TypeError',
      message: /source/,
    });
  });

  it('should reject chunks that are neither bytes nor strings', async () => {
    async function* numbers(): AsyncGenerator<number> {
      yield 1;
    }
    await assert.rejects(parseXml(numbers() as unknown as AsyncIterable<Buffer>), TypeError);
  });

  it('should throw XmlError instances carrying the sax complaint as cause', async () => {
    const err = await parseXml(chunks('<a>')).catch((e: unknown) => e);
    assert.ok(err instanceof XmlError);
    assert.ok(err.cause instanceof Error);
  });
});
