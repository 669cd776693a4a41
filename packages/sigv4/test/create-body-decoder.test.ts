import assert from 'node:assert/strict';
import { createHash } from 'node:crypto';
import { PassThrough } from 'node:stream';
import { describe, it } from 'node:test';
import zlib from 'node:zlib';

import type { ChecksumAlgorithm } from '@coffer/checksum';

import { createBodyDecoder, signRequest, verifyRequest, type AuthContext, type Headers } from '../src/index.ts';
import {
  ACCESS_KEY,
  SECRET_KEY,
  amzDateMs,
  decodedPayload,
  fixtureNames,
  loadFixture,
  toRequest,
  wireBody,
  type Fixture,
} from './fixtures.ts';
import {
  assertSigV4Error,
  encodeSignedChunks,
  encodeUnsignedChunks,
  randomSplit,
  runDecoder,
  split,
} from './helpers.ts';

const keys = (k: string) => (k === ACCESS_KEY ? SECRET_KEY : undefined);
const md5 = (b: Buffer) => createHash('md5').update(b).digest('hex');
const NOW = new Date('2026-11-27T07:00:00Z');

async function fixtureAuth(f: Fixture): Promise<AuthContext> {
  return verifyRequest(toRequest(f), { getSecretKey: keys, now: () => amzDateMs(f.amzDate) });
}

function flipByte(buf: Buffer, index: number): Buffer {
  const copy = Buffer.from(buf);
  copy[index] = copy[index]! ^ 0x01;
  return copy;
}

/** An AuthContext for a PUT whose x-amz-content-sha256 is `mode`, signed by signRequest. */
async function authFor(
  mode: string,
  extra: Record<string, string> = {},
): Promise<{ auth: AuthContext; headers: Headers }> {
  const headers = signRequest({
    method: 'PUT',
    url: 'http://127.0.0.1:9000/bkt/k',
    headers: { 'x-amz-content-sha256': mode, ...extra },
    accessKeyId: ACCESS_KEY,
    secretAccessKey: SECRET_KEY,
    now: NOW,
  });
  const auth = await verifyRequest(
    { method: 'PUT', path: '/bkt/k', query: '', headers },
    { getSecretKey: keys, now: () => NOW.getTime() },
  );
  return { auth, headers };
}

const VECTOR = Buffer.from('123456789');
const VECTOR_DIGESTS: Record<ChecksumAlgorithm, string> = {
  CRC32: Buffer.from('cbf43926', 'hex').toString('base64'),
  CRC32C: Buffer.from('e3069283', 'hex').toString('base64'),
  CRC64NVME: Buffer.from('ae8b14860a799888', 'hex').toString('base64'),
  SHA1: createHash('sha1').update(VECTOR).digest('base64'),
  SHA256: createHash('sha256').update(VECTOR).digest('base64'),
};

describe('createBodyDecoder', () => {
  describe('captured client bodies', () => {
    for (const name of fixtureNames()) {
      const f = loadFixture(name);
      const payload = decodedPayload(f);
      if (!payload) continue;
      it(`should decode and verify ${name} (${f.frames ? 'aws-chunked' : 'plain'}, ${payload.length} bytes)`, async () => {
        const auth = await fixtureAuth(f);
        const wire = wireBody(f, payload);
        assert.equal(wire.length, f.wireLength, 'rebuilt body has the captured length on the wire');
        if (f.body2k) assert.deepEqual(wire.subarray(0, f.body2k.length), f.body2k, 'rebuilt body starts as captured');
        const decoder = createBodyDecoder(auth, f.headers);
        const out = await runDecoder(decoder, randomSplit(wire));
        assert.equal(md5(out), f.md5);
        const result = decoder.result();
        assert.equal(result.decodedLength, f.decodedLength);
        const claimed = f.trailers?.[0]?.split(':')[1] ?? f.headers['x-amz-checksum-crc32'];
        assert.deepEqual(result.checksum, claimed === undefined ? undefined : { algorithm: 'CRC32', value: claimed });
      });

      if (payload.length === 0 || payload.length > 400_000) continue;
      it(`should reject ${name} with one payload byte changed`, async () => {
        const auth = await fixtureAuth(f);
        const bad = wireBody(f, flipByte(payload, Math.floor(payload.length / 2)));
        if (auth.payload.kind === 'signed') {
          const err = await assertSigV4Error(
            () => runDecoder(createBodyDecoder(auth, f.headers), [bad]),
            'SIGV4_PAYLOAD_HASH_MISMATCH',
            "The provided 'x-amz-content-sha256' header does not match what was computed.",
          );
          assert.equal(err.details['ClientComputedContentSHA256'], auth.payload.sha256);
          assert.equal(err.details['S3ComputedContentSHA256'], createHash('sha256').update(bad).digest('hex'));
        } else if (f.trailers || f.headers['x-amz-checksum-crc32']) {
          await assertSigV4Error(
            () => runDecoder(createBodyDecoder(auth, f.headers), [bad]),
            'SIGV4_CHECKSUM_MISMATCH',
            'The CRC32 you specified did not match the calculated checksum.',
          );
        } else {
          // UNSIGNED-PAYLOAD without a checksum: nothing to detect a change with
          await runDecoder(createBodyDecoder(auth, f.headers), [bad]);
        }
      });
    }

    it('should decode an aws-chunked capture fed one byte at a time', async () => {
      const f = loadFixture('sdkjs-03-PUT');
      const wire = wireBody(f, decodedPayload(f)!);
      const decoder = createBodyDecoder(await fixtureAuth(f), f.headers);
      const out = await runDecoder(decoder, split(wire, 1));
      assert.equal(md5(out), f.md5);
      assert.deepEqual(decoder.result(), { checksum: { algorithm: 'CRC32', value: 'z4K/uw==' }, decodedLength: 8400 });
    });

    it('should reject a truncated aws-chunked capture with SIGV4_INCOMPLETE_BODY', async () => {
      const f = loadFixture('sdkjs-stream300k-01-PUT');
      const auth = await fixtureAuth(f);
      const wire = wireBody(f, decodedPayload(f)!);
      const trailerAt = wire.lastIndexOf('x-amz-checksum-crc32');
      for (const cut of [0, 3, 10, 65536, 200_000, wire.length - 60, trailerAt - 3, trailerAt, trailerAt + 10]) {
        await assertSigV4Error(
          () => runDecoder(createBodyDecoder(auth, f.headers), [wire.subarray(0, cut)]),
          'SIGV4_INCOMPLETE_BODY',
          'You did not provide the number of bytes specified by the Content-Length HTTP header',
        );
      }
      // only the closing empty line missing: accepted, the trailer is complete
      await runDecoder(createBodyDecoder(auth, f.headers), [wire.subarray(0, wire.length - 2)]);
    });

    it('should reject a wrong trailer checksum with SIGV4_CHECKSUM_MISMATCH', async () => {
      const f = loadFixture('awsclihttps-01-PUT');
      const auth = await fixtureAuth(f);
      const wrong = { ...f, trailers: ['x-amz-checksum-crc32:AAAAAA=='] };
      await assertSigV4Error(
        () => runDecoder(createBodyDecoder(auth, f.headers), [wireBody(wrong, decodedPayload(f)!)]),
        'SIGV4_CHECKSUM_MISMATCH',
        'The CRC32 you specified did not match the calculated checksum.',
      );
    });

    it('should reject a malformed trailer value with SIGV4_INVALID_CHECKSUM', async () => {
      const f = loadFixture('awsclihttps-01-PUT');
      const auth = await fixtureAuth(f);
      const wrong = { ...f, trailers: ['x-amz-checksum-crc32:AAAA'] };
      await assertSigV4Error(
        () => runDecoder(createBodyDecoder(auth, f.headers), [wireBody(wrong, decodedPayload(f)!)]),
        'SIGV4_INVALID_CHECKSUM',
        'Value for x-amz-checksum-crc32 trailing header is invalid.',
      );
    });

    it('should reject a trailer other than the one x-amz-trailer names with SIGV4_MALFORMED_TRAILER', async () => {
      const f = loadFixture('awsclihttps-01-PUT');
      const auth = await fixtureAuth(f);
      const wrong = { ...f, trailers: [`x-amz-checksum-sha1:${Buffer.alloc(20).toString('base64')}`] };
      await assertSigV4Error(
        () => runDecoder(createBodyDecoder(auth, f.headers), [wireBody(wrong, decodedPayload(f)!)]),
        'SIGV4_MALFORMED_TRAILER',
        'The request contained trailing data that was not well-formed or did not conform to our published schema.',
      );
    });

    it('should reject a decoded length other than x-amz-decoded-content-length with SIGV4_INCOMPLETE_BODY', async () => {
      const f = loadFixture('awsclihttps-01-PUT');
      const auth = await fixtureAuth(f);
      const wire = wireBody(f, decodedPayload(f)!);
      for (const len of ['8401', '8399']) {
        await assertSigV4Error(
          () => runDecoder(createBodyDecoder(auth, { ...f.headers, 'x-amz-decoded-content-length': len }), [wire]),
          'SIGV4_INCOMPLETE_BODY',
        );
      }
    });

    it('should reject a malformed frame with SIGV4_MALFORMED_CHUNK', async () => {
      const f = loadFixture('awsclihttps-01-PUT');
      const auth = await fixtureAuth(f);
      const wire = wireBody(f, decodedPayload(f)!);
      for (const bad of [
        Buffer.from('zz\r\n'),
        Buffer.concat([Buffer.from('20d0\n'), wire.subarray(6)]),
        flipByte(wire, 6 + 8400),
      ]) {
        await assertSigV4Error(() => runDecoder(createBodyDecoder(auth, f.headers), [bad]), 'SIGV4_MALFORMED_CHUNK');
      }
    });

    it('should stream: decoded bytes come out before the body ends', async () => {
      const f = loadFixture('sdkjs-stream300k-01-PUT');
      const wire = wireBody(f, decodedPayload(f)!);
      const decoder = createBodyDecoder(await fixtureAuth(f), f.headers);
      const input = new PassThrough();
      input.pipe(decoder);
      let seen = 0;
      decoder.on('data', (c: Buffer) => (seen += c.length));
      input.write(wire.subarray(0, 100_000));
      await new Promise((r) => setImmediate(r));
      assert.ok(seen > 90_000, `saw ${seen} bytes before the end`);
      assert.throws(() => decoder.result(), /before the body ended/);
      input.end(wire.subarray(100_000));
      await new Promise((r) => decoder.on('end', r));
      assert.equal(seen, 300_000);
    });
  });

  describe('STREAMING-AWS4-HMAC-SHA256-PAYLOAD', () => {
    it('should verify the AWS documentation example', async () => {
      // https://docs.aws.amazon.com/AmazonS3/latest/API/sigv4-streaming.html
      const headers: Headers = {
        host: 's3.amazonaws.com',
        'x-amz-date': '20130524T000000Z',
        'x-amz-storage-class': 'REDUCED_REDUNDANCY',
        authorization:
          'AWS4-HMAC-SHA256 Credential=AKIAIOSFODNN7EXAMPLE/20130524/us-east-1/s3/aws4_request,SignedHeaders=content-encoding;content-length;host;x-amz-content-sha256;x-amz-date;x-amz-decoded-content-length;x-amz-storage-class,Signature=4f232c4386841ef735655705268965c44a0e4690baa4adea153f7db9fa80a0a9',
        'x-amz-content-sha256': 'STREAMING-AWS4-HMAC-SHA256-PAYLOAD',
        'content-encoding': 'aws-chunked',
        'x-amz-decoded-content-length': '66560',
        'content-length': '66824',
      };
      const secret = 'wJalrXUtnFEMI/K7MDENG/bPxRfiCYEXAMPLEKEY';
      const auth = await verifyRequest(
        { method: 'PUT', path: '/examplebucket/chunkObject.txt', query: '', headers },
        { getSecretKey: () => secret, now: () => Date.UTC(2013, 4, 24) },
      );
      const body = Buffer.concat([
        Buffer.from('10000;chunk-signature=ad80c730a21e5b8d04586a2213dd63b9a0e99e0e2307b0ade35a65485a288648\r\n'),
        Buffer.alloc(65536, 'a'),
        Buffer.from('\r\n400;chunk-signature=0055627c9e194cb4542bae2aa5492e3c1575bbb81b612b7d234b86a503ef5497\r\n'),
        Buffer.alloc(1024, 'a'),
        Buffer.from('\r\n0;chunk-signature=b6c6ea8a5354eaf15b3cb7646744f4275b71ea724fed81ceb9323e279d449df9\r\n\r\n'),
      ]);
      assert.equal(body.length, 66824);
      const decoder = createBodyDecoder(auth, headers);
      const out = await runDecoder(decoder, split(body, 1000));
      assert.deepEqual(out, Buffer.alloc(66560, 'a'));
      assert.deepEqual(decoder.result(), { decodedLength: 66560 });
      const err = await assertSigV4Error(
        () => runDecoder(createBodyDecoder(auth, headers), [flipByte(body, 30_000)]),
        'SIGV4_CHUNK_SIGNATURE_MISMATCH',
        'The request signature we calculated does not match the signature you provided. Check your key and signing method.',
        secret,
      );
      assert.match(err.details['StringToSign']!, /^AWS4-HMAC-SHA256-PAYLOAD\n20130524T000000Z\n/);
    });

    const payload = Buffer.alloc(70_000, 'x');
    async function signedBody(sizes: number[], pieceSize = 777) {
      const { auth, headers } = await authFor('STREAMING-AWS4-HMAC-SHA256-PAYLOAD', {
        'content-encoding': 'aws-chunked',
        'x-amz-decoded-content-length': String(sizes.reduce((a, b) => a + b, 0)),
      });
      const body = encodeSignedChunks({
        payload,
        sizes,
        seed: auth.signature,
        signingKey: auth.signingKey,
        amzDate: auth.amzDate,
        scope: auth.scope,
      });
      return { auth, headers, body, pieces: () => split(body, pieceSize) };
    }

    it('should verify chunk signatures across arbitrary splits', async () => {
      const { auth, headers, body } = await signedBody([65536, 4464]);
      const decoder = createBodyDecoder(auth, headers);
      assert.deepEqual(await runDecoder(decoder, split(body, 1)), payload);
      assert.equal(decoder.result().decodedLength, 70_000);
    });

    it('should reject a non-final chunk under 8192 bytes with SIGV4_INVALID_CHUNK_SIZE', async () => {
      const { auth, headers, pieces } = await signedBody([8192, 4096, 8192]);
      const err = await assertSigV4Error(
        () => runDecoder(createBodyDecoder(auth, headers), pieces()),
        'SIGV4_INVALID_CHUNK_SIZE',
        'Only the last chunk is allowed to have a size less than 8192 bytes',
      );
      assert.deepEqual(err.details, { Chunk: '2', BadChunkSize: '4096' });
      const ok = await signedBody([8192, 100]);
      await runDecoder(createBodyDecoder(ok.auth, ok.headers), ok.pieces());
    });

    it('should reject a chunk signed with another seed', async () => {
      const { auth, headers } = await signedBody([100]);
      const body = encodeSignedChunks({
        payload,
        sizes: [100],
        seed: '0'.repeat(64),
        signingKey: auth.signingKey,
        amzDate: auth.amzDate,
        scope: auth.scope,
      });
      await assertSigV4Error(
        () => runDecoder(createBodyDecoder(auth, headers), [body]),
        'SIGV4_CHUNK_SIGNATURE_MISMATCH',
      );
    });

    it('should reject a chunk without a signature with SIGV4_MALFORMED_CHUNK', async () => {
      const { auth, headers } = await signedBody([100]);
      await assertSigV4Error(
        () => runDecoder(createBodyDecoder(auth, headers), [Buffer.from('0\r\n\r\n')]),
        'SIGV4_MALFORMED_CHUNK',
      );
    });

    it('should reject a body that stops before the final chunk with SIGV4_INCOMPLETE_BODY', async () => {
      const { auth, headers, body } = await signedBody([65536, 4464]);
      const end = body.lastIndexOf('0;chunk-signature=');
      await assertSigV4Error(
        () => runDecoder(createBodyDecoder(auth, headers), [body.subarray(0, end)]),
        'SIGV4_INCOMPLETE_BODY',
      );
    });
  });

  describe('STREAMING-AWS4-HMAC-SHA256-PAYLOAD-TRAILER', () => {
    async function trailerBody(value: string, tamper?: (b: Buffer) => Buffer) {
      const payload = Buffer.alloc(20_000, 'y');
      const { auth, headers } = await authFor('STREAMING-AWS4-HMAC-SHA256-PAYLOAD-TRAILER', {
        'content-encoding': 'aws-chunked',
        'x-amz-trailer': 'x-amz-checksum-crc32',
        'x-amz-decoded-content-length': '20000',
      });
      let body = encodeSignedChunks({
        payload,
        sizes: [10_000, 10_000],
        seed: auth.signature,
        signingKey: auth.signingKey,
        amzDate: auth.amzDate,
        scope: auth.scope,
        trailer: ['x-amz-checksum-crc32', value],
      });
      if (tamper) body = tamper(body);
      return { auth, headers, body, crc: value };
    }
    const crc = (() => {
      const b = Buffer.alloc(4);
      b.writeUInt32BE(zlib.crc32(Buffer.alloc(20_000, 'y')));
      return b.toString('base64');
    })();

    it('should verify chunk and trailer signatures and the trailer checksum', async () => {
      const { auth, headers, body } = await trailerBody(crc);
      const decoder = createBodyDecoder(auth, headers);
      await runDecoder(decoder, split(body, 3));
      assert.deepEqual(decoder.result(), { checksum: { algorithm: 'CRC32', value: crc }, decodedLength: 20_000 });
    });

    it('should reject a tampered trailer signature with SIGV4_CHUNK_SIGNATURE_MISMATCH', async () => {
      const { auth, headers, body } = await trailerBody(crc, (b) => flipByte(b, b.length - 6));
      await assertSigV4Error(
        () => runDecoder(createBodyDecoder(auth, headers), [body]),
        'SIGV4_CHUNK_SIGNATURE_MISMATCH',
      );
    });

    it('should reject a signed but wrong checksum with SIGV4_CHECKSUM_MISMATCH', async () => {
      const { auth, headers, body } = await trailerBody('AAAAAA==');
      await assertSigV4Error(
        () => runDecoder(createBodyDecoder(auth, headers), [body]),
        'SIGV4_CHECKSUM_MISMATCH',
        'The CRC32 you specified did not match the calculated checksum.',
      );
    });

    it('should reject a missing trailer signature with SIGV4_MALFORMED_TRAILER', async () => {
      const { auth, headers, body } = await trailerBody(crc, (b) => {
        const s = b.toString('latin1');
        return Buffer.from(s.replace(/x-amz-trailer-signature:[0-9a-f]+\r\n/, ''), 'latin1');
      });
      await assertSigV4Error(() => runDecoder(createBodyDecoder(auth, headers), [body]), 'SIGV4_MALFORMED_TRAILER');
    });
  });

  describe('checksums', () => {
    it('should verify the checksum the request carries (not compute another one), unless it is not of this body', async () => {
      const { auth } = await authFor('UNSIGNED-PAYLOAD');
      const decoder = createBodyDecoder(auth, { 'x-amz-checksum-sha256': VECTOR_DIGESTS.SHA256 }, { compute: 'CRC32' });
      await runDecoder(decoder, [VECTOR]);
      assert.deepEqual(decoder.result(), {
        checksum: { algorithm: 'SHA256', value: VECTOR_DIGESTS.SHA256 },
        decodedLength: 9,
      });
      const other = createBodyDecoder(
        auth,
        { 'x-amz-checksum-sha256': VECTOR_DIGESTS.SHA256 },
        { ignoreChecksumHeaders: true },
      );
      await runDecoder(other, [Buffer.from('not the vector')]);
      assert.deepEqual(other.result(), { decodedLength: 14 });
      const plain = createBodyDecoder(auth, {});
      await runDecoder(plain, [VECTOR]);
      assert.deepEqual(plain.result(), { decodedLength: 9 });
    });

    for (const [algorithm, value] of Object.entries(VECTOR_DIGESTS) as [ChecksumAlgorithm, string][]) {
      const header = `x-amz-checksum-${algorithm.toLowerCase()}`;

      it(`should verify ${algorithm} from the ${header} header`, async () => {
        const { auth } = await authFor('UNSIGNED-PAYLOAD');
        const decoder = createBodyDecoder(auth, { [header]: value });
        await runDecoder(decoder, split(VECTOR, 2));
        assert.deepEqual(decoder.result(), { checksum: { algorithm, value }, decodedLength: 9 });
      });

      it(`should compute ${algorithm} when asked to and the request carries no checksum`, async () => {
        const { auth } = await authFor('UNSIGNED-PAYLOAD');
        const decoder = createBodyDecoder(auth, {}, { compute: algorithm });
        await runDecoder(decoder, split(VECTOR, 2));
        assert.deepEqual(decoder.result(), { checksum: { algorithm, value, computed: true }, decodedLength: 9 });
      });

      it(`should verify ${algorithm} from a trailer`, async () => {
        const { auth, headers } = await authFor('STREAMING-UNSIGNED-PAYLOAD-TRAILER', {
          'x-amz-trailer': header,
          'content-encoding': 'aws-chunked',
        });
        const decoder = createBodyDecoder(auth, headers);
        await runDecoder(decoder, split(encodeUnsignedChunks(VECTOR, [4, 5], [header, value]), 1));
        assert.deepEqual(decoder.result(), { checksum: { algorithm, value }, decodedLength: 9 });
      });

      it(`should reject a wrong ${algorithm} with SIGV4_CHECKSUM_MISMATCH`, async () => {
        const { auth } = await authFor('UNSIGNED-PAYLOAD');
        await assertSigV4Error(
          () => runDecoder(createBodyDecoder(auth, { [header]: value }), [Buffer.from('123456780')]),
          'SIGV4_CHECKSUM_MISMATCH',
          `The ${algorithm} you specified did not match the calculated checksum.`,
        );
      });

      it(`should reject a malformed ${header} with SIGV4_INVALID_CHECKSUM before reading the body`, async () => {
        const { auth } = await authFor('UNSIGNED-PAYLOAD');
        for (const bad of ['abc', 'AAAA' + value, value.replace(/=+$/, ''), '!!!!']) {
          await assertSigV4Error(
            () => createBodyDecoder(auth, { [header]: bad }),
            'SIGV4_INVALID_CHECKSUM',
            `Value for ${header} header is invalid.`,
          );
        }
      });
    }

    it('should reject two checksum headers with SIGV4_INVALID_CHECKSUM', async () => {
      const { auth } = await authFor('UNSIGNED-PAYLOAD');
      const both = { 'x-amz-checksum-crc32': VECTOR_DIGESTS.CRC32, 'x-amz-checksum-sha1': VECTOR_DIGESTS.SHA1 };
      await assertSigV4Error(
        () => createBodyDecoder(auth, both),
        'SIGV4_INVALID_CHECKSUM',
        'Expecting a single x-amz-checksum- header. Multiple checksum Types are not allowed.',
      );
    });

    it('should reject an unsupported x-amz-trailer with SIGV4_INVALID_CHECKSUM', async () => {
      const { auth, headers } = await authFor('STREAMING-UNSIGNED-PAYLOAD-TRAILER', {
        'x-amz-trailer': 'x-amz-checksum-md5',
      });
      await assertSigV4Error(
        () => createBodyDecoder(auth, headers),
        'SIGV4_INVALID_CHECKSUM',
        'The value specified in the x-amz-trailer header is not supported',
      );
    });

    it('should reject an unsupported x-amz-sdk-checksum-algorithm with SIGV4_INVALID_CHECKSUM', async () => {
      const { auth } = await authFor('UNSIGNED-PAYLOAD');
      await assertSigV4Error(
        () => createBodyDecoder(auth, { 'x-amz-sdk-checksum-algorithm': 'MD5' }),
        'SIGV4_INVALID_CHECKSUM',
        'Checksum algorithm provided is unsupported. Please try again with any of the valid types: [CRC32, CRC32C, CRC64NVME, SHA1, SHA256]',
      );
    });

    it('should accept small frames without a minimum when chunks are unsigned', async () => {
      const { auth, headers } = await authFor('STREAMING-UNSIGNED-PAYLOAD-TRAILER', {
        'content-encoding': 'aws-chunked',
      });
      const decoder = createBodyDecoder(auth, headers);
      assert.deepEqual(await runDecoder(decoder, [encodeUnsignedChunks(VECTOR, [1, 1, 7])]), VECTOR);
      assert.deepEqual(decoder.result(), { decodedLength: 9 });
    });
  });

  describe('signed payload', () => {
    it('should verify the hex x-amz-content-sha256 and report both hashes on a mismatch', async () => {
      const sha = createHash('sha256').update(VECTOR).digest('hex');
      const { auth } = await authFor(sha);
      await runDecoder(createBodyDecoder(auth, {}), split(VECTOR, 1));
      const err = await assertSigV4Error(
        () => runDecoder(createBodyDecoder(auth, {}), [Buffer.from('12345678')]),
        'SIGV4_PAYLOAD_HASH_MISMATCH',
      );
      assert.deepEqual(err.details, {
        ClientComputedContentSHA256: sha,
        S3ComputedContentSHA256: createHash('sha256').update('12345678').digest('hex'),
      });
    });
  });
});
