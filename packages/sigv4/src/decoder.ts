import { createHash, timingSafeEqual, type Hash } from 'node:crypto';
import { Transform, type TransformCallback } from 'node:stream';

import {
  CHECKSUM_ALGORITHMS,
  checksumAlgorithmOfHeader,
  createChecksum,
  decodeChecksumValue,
  type ChecksumAlgorithm,
  type Checksummer,
} from '@coffer/checksum';

import { EMPTY_SHA256, headerValue, hmac, sha256Hex } from './canonical.ts';
import { MESSAGES, SigV4Error, checksumMismatchMessage, invalidChecksumMessage } from './errors.ts';
import type { AuthContext, BodyDecoder, BodyDecoderOptions, BodyDecoderResult, Headers } from './types.ts';
import { signaturesEqual } from './verify.ts';

/** AWS: every aws-chunked chunk but the last data chunk must carry at least 8 KiB (signed streaming). */
export const MIN_CHUNK_SIZE = 8192;
/** Longest chunk-header or trailer line accepted, bytes (a signed header line is ~90 bytes). */
const MAX_LINE = 4096;

enum State {
  Header,
  Data,
  DataCrlf,
  Trailer,
  Done,
}

function malformedChunk(): SigV4Error {
  return new SigV4Error('SIGV4_MALFORMED_CHUNK', MESSAGES.malformedChunk);
}

function incompleteBody(): SigV4Error {
  return new SigV4Error('SIGV4_INCOMPLETE_BODY', MESSAGES.incompleteBody);
}

function malformedTrailer(): SigV4Error {
  return new SigV4Error('SIGV4_MALFORMED_TRAILER', MESSAGES.malformedTrailer);
}

interface ExpectedChecksum {
  algorithm: ChecksumAlgorithm;
  header: string;
  /** Set up front for a header checksum, on arrival for a trailer. */
  value?: string;
  digest?: Buffer;
  trailer: boolean;
}

/** Validates the checksum-related headers (synchronously, before any body byte is read). */
function expectedChecksum(headers: Headers, chunked: boolean, checksumHeaders: boolean): ExpectedChecksum | undefined {
  const found: ExpectedChecksum[] = [];
  for (const [name, raw] of checksumHeaders ? Object.entries(headers) : []) {
    if (raw === undefined) continue;
    const algorithm = checksumAlgorithmOfHeader(name);
    if (!algorithm) continue;
    const value = headerValue(headers, name)!.trim();
    const digest = decodeChecksumValue(algorithm, value);
    if (!digest) throw new SigV4Error('SIGV4_INVALID_CHECKSUM', invalidChecksumMessage(name.toLowerCase()));
    found.push({ algorithm, header: name.toLowerCase(), value, digest, trailer: false });
  }
  const trailer = headerValue(headers, 'x-amz-trailer')?.trim().toLowerCase();
  if (trailer !== undefined && trailer !== '') {
    const algorithm = checksumAlgorithmOfHeader(trailer);
    if (!algorithm || !chunked) throw new SigV4Error('SIGV4_INVALID_CHECKSUM', MESSAGES.trailerNotSupported);
    found.push({ algorithm, header: trailer, trailer: true });
  }
  const sdkAlgorithm = headerValue(headers, 'x-amz-sdk-checksum-algorithm')?.trim().toUpperCase();
  if (
    sdkAlgorithm !== undefined &&
    sdkAlgorithm !== '' &&
    !CHECKSUM_ALGORITHMS.includes(sdkAlgorithm as ChecksumAlgorithm)
  ) {
    throw new SigV4Error('SIGV4_INVALID_CHECKSUM', MESSAGES.unsupportedChecksum);
  }
  if (found.length > 1) throw new SigV4Error('SIGV4_INVALID_CHECKSUM', MESSAGES.multipleChecksums);
  return found[0];
}

class AwsBodyDecoder extends Transform implements BodyDecoder {
  readonly #auth: AuthContext;
  readonly #chunked: boolean;
  readonly #signedChunks: boolean;
  readonly #trailerMode: boolean;
  readonly #expectedLength: number | undefined;
  readonly #expected: ExpectedChecksum | undefined;
  readonly #checksum: Checksummer | undefined;
  /** The algorithm computed without a checksum to verify (option `compute`), and its value once the body ended. */
  readonly #computeOnly: ChecksumAlgorithm | undefined;
  #computed: string | undefined;
  /** SHA-256 of the body as received, for a hex x-amz-content-sha256. */
  readonly #rawHash: Hash | undefined;

  #decodedLength = 0;
  #finished = false;
  #state = State.Header;
  #line: Buffer[] = [];
  #lineLength = 0;
  #remaining = 0;
  #crlfSeen = 0;
  #chunkIndex = 0;
  #previousChunkSize = -1;
  #chunkSignature = '';
  #chunkHash: Hash | undefined;
  #previousSignature: string;
  #trailers = new Map<string, string>();
  #trailerSignature: string | undefined;

  constructor(auth: AuthContext, headers: Headers, opts: BodyDecoderOptions = {}) {
    super();
    this.#auth = auth;
    const kind = auth.payload.kind;
    const encoding = headerValue(headers, 'content-encoding') ?? '';
    const awsChunked = encoding.split(',').some((t) => t.trim().toLowerCase() === 'aws-chunked');
    this.#chunked = kind.startsWith('streaming-') || awsChunked;
    this.#signedChunks = kind === 'streaming-signed' || kind === 'streaming-signed-trailer';
    this.#trailerMode =
      kind === 'streaming-signed-trailer' ||
      kind === 'streaming-unsigned-trailer' ||
      (this.#chunked && !this.#signedChunks);
    this.#previousSignature = auth.signature;

    const decoded = headerValue(headers, 'x-amz-decoded-content-length')?.trim();
    if (decoded !== undefined && this.#chunked) {
      if (!/^\d{1,15}$/.test(decoded)) throw incompleteBody();
      this.#expectedLength = Number(decoded);
    }
    this.#expected = expectedChecksum(headers, this.#chunked, !opts.ignoreChecksumHeaders);
    if (opts.compute !== undefined && !CHECKSUM_ALGORITHMS.includes(opts.compute))
      throw new TypeError('opts.compute must be a checksum algorithm');
    this.#computeOnly = this.#expected ? undefined : opts.compute;
    // only compute what is asked for
    const algorithm = this.#expected?.algorithm ?? this.#computeOnly;
    this.#checksum = algorithm ? createChecksum(algorithm) : undefined;
    this.#rawHash = auth.payload.kind === 'signed' ? createHash('sha256') : undefined;
  }

  result(): BodyDecoderResult {
    if (!this.#finished) throw new Error('BodyDecoder.result() called before the body ended');
    const e = this.#expected;
    const computed =
      this.#computeOnly && this.#computed !== undefined
        ? { algorithm: this.#computeOnly, value: this.#computed, computed: true as const }
        : undefined;
    return {
      ...(e && e.value !== undefined
        ? { checksum: { algorithm: e.algorithm, value: e.value } }
        : computed
          ? { checksum: computed }
          : {}),
      decodedLength: this.#decodedLength,
    };
  }

  override _transform(chunk: Buffer, _encoding: BufferEncoding, callback: TransformCallback): void {
    try {
      this.#rawHash?.update(chunk);
      if (!this.#chunked) this.#emit(chunk);
      else this.#parse(chunk);
      callback();
    } catch (err) {
      callback(err as Error);
    }
  }

  override _flush(callback: TransformCallback): void {
    this.#finish().then(
      () => callback(),
      (err: unknown) => callback(err as Error),
    );
  }

  async #finish(): Promise<void> {
    if (this.#chunked && this.#state !== State.Done) {
      // Accept a body that ends right after its last trailer line without the closing empty line.
      if (this.#state === State.Trailer && this.#lineLength === 0 && this.#trailerSatisfied()) this.#endTrailer();
      else throw incompleteBody();
    }
    if (this.#expectedLength !== undefined && this.#decodedLength !== this.#expectedLength) throw incompleteBody();
    if (this.#rawHash && this.#auth.payload.kind === 'signed') {
      const computed = this.#rawHash.digest();
      const claimed = Buffer.from(this.#auth.payload.sha256, 'hex');
      if (claimed.length !== 32 || !timingSafeEqual(computed, claimed)) {
        throw new SigV4Error('SIGV4_PAYLOAD_HASH_MISMATCH', MESSAGES.payloadHashMismatch, {
          ClientComputedContentSHA256: this.#auth.payload.sha256,
          S3ComputedContentSHA256: computed.toString('hex'),
        });
      }
    }
    const e = this.#expected;
    if (e && this.#checksum) {
      if (!e.digest) throw malformedTrailer(); // declared trailer never arrived
      const computed = await this.#checksum.digest();
      if (computed.length !== e.digest.length || !timingSafeEqual(computed, e.digest)) {
        throw new SigV4Error('SIGV4_CHECKSUM_MISMATCH', checksumMismatchMessage(e.algorithm));
      }
    } else if (this.#computeOnly && this.#checksum) {
      this.#computed = (await this.#checksum.digest()).toString('base64');
    }
    this.#finished = true;
  }

  #emit(data: Buffer): void {
    if (data.length === 0) return;
    this.#decodedLength += data.length;
    if (this.#expectedLength !== undefined && this.#decodedLength > this.#expectedLength) throw incompleteBody();
    this.#checksum?.update(data);
    this.push(data);
  }

  /** Incremental aws-chunked parser: `hex-size[;chunk-signature=sig]\r\n data \r\n … 0[;…]\r\n trailers \r\n`. */
  #parse(chunk: Buffer): void {
    let i = 0;
    while (i < chunk.length) {
      switch (this.#state) {
        case State.Header:
        case State.Trailer: {
          const nl = chunk.indexOf(0x0a, i);
          const end = nl < 0 ? chunk.length : nl + 1;
          this.#line.push(chunk.subarray(i, end));
          this.#lineLength += end - i;
          i = end;
          if (this.#lineLength > MAX_LINE) throw this.#state === State.Header ? malformedChunk() : malformedTrailer();
          if (nl < 0) break;
          const line = this.#line.length === 1 ? this.#line[0]! : Buffer.concat(this.#line);
          this.#line = [];
          this.#lineLength = 0;
          if (line.length < 2 || line[line.length - 2] !== 0x0d) {
            throw this.#state === State.Header ? malformedChunk() : malformedTrailer();
          }
          const text = line.toString('latin1', 0, line.length - 2);
          if (this.#state === State.Header) this.#onChunkHeader(text);
          else this.#onTrailerLine(text);
          break;
        }
        case State.Data: {
          const n = Math.min(this.#remaining, chunk.length - i);
          const piece = chunk.subarray(i, i + n);
          this.#chunkHash?.update(piece);
          this.#emit(piece);
          this.#remaining -= n;
          i += n;
          if (this.#remaining === 0) {
            if (this.#signedChunks) this.#verifyChunkSignature(this.#chunkHash!.digest('hex'));
            this.#state = State.DataCrlf;
            this.#crlfSeen = 0;
          }
          break;
        }
        case State.DataCrlf: {
          const b = chunk[i++];
          if (b !== (this.#crlfSeen === 0 ? 0x0d : 0x0a)) throw malformedChunk();
          if (++this.#crlfSeen === 2) this.#state = State.Header;
          break;
        }
        case State.Done: {
          // tolerate stray line ends after the final empty line, nothing else
          const b = chunk[i++];
          if (b !== 0x0d && b !== 0x0a) throw malformedChunk();
          break;
        }
      }
    }
  }

  #onChunkHeader(text: string): void {
    const semi = text.indexOf(';');
    const sizeHex = (semi < 0 ? text : text.slice(0, semi)).trim();
    if (!/^[0-9a-fA-F]{1,13}$/.test(sizeHex)) throw malformedChunk();
    const size = parseInt(sizeHex, 16);
    let signature: string | undefined;
    if (semi >= 0) {
      for (const ext of text.slice(semi + 1).split(';')) {
        const eq = ext.indexOf('=');
        if (eq >= 0 && ext.slice(0, eq).trim() === 'chunk-signature') signature = ext.slice(eq + 1).trim();
      }
    }
    if (this.#signedChunks) {
      if (signature === undefined || signature === '') throw malformedChunk();
      this.#chunkSignature = signature;
    }
    this.#chunkIndex++;
    if (size > 0) {
      // AWS streaming: only the last data chunk may be under 8 KiB (the 0-chunk ends the body)
      if (this.#signedChunks && this.#previousChunkSize >= 0 && this.#previousChunkSize < MIN_CHUNK_SIZE) {
        throw new SigV4Error('SIGV4_INVALID_CHUNK_SIZE', MESSAGES.invalidChunkSize, {
          Chunk: String(this.#chunkIndex - 1),
          BadChunkSize: String(this.#previousChunkSize),
        });
      }
      this.#previousChunkSize = size;
      if (this.#expectedLength !== undefined && this.#decodedLength + size > this.#expectedLength)
        throw incompleteBody();
      this.#remaining = size;
      this.#chunkHash = this.#signedChunks ? createHash('sha256') : undefined;
      this.#state = State.Data;
    } else {
      if (this.#signedChunks) this.#verifyChunkSignature(EMPTY_SHA256);
      this.#state = State.Trailer;
    }
  }

  /** `AWS4-HMAC-SHA256-PAYLOAD\n date\n scope\n prev-sig\n sha256('')\n sha256(chunk)` */
  #verifyChunkSignature(chunkSha256: string): void {
    const a = this.#auth;
    const toSign = `AWS4-HMAC-SHA256-PAYLOAD\n${a.amzDate}\n${a.scope}\n${this.#previousSignature}\n${EMPTY_SHA256}\n${chunkSha256}`;
    const expected = hmac(a.signingKey, toSign).toString('hex');
    if (!signaturesEqual(expected, this.#chunkSignature)) {
      throw new SigV4Error('SIGV4_CHUNK_SIGNATURE_MISMATCH', MESSAGES.signatureMismatch, {
        AWSAccessKeyId: a.accessKeyId,
        StringToSign: toSign,
        SignatureProvided: this.#chunkSignature,
      });
    }
    this.#previousSignature = expected;
  }

  #onTrailerLine(text: string): void {
    if (text === '') {
      this.#endTrailer();
      return;
    }
    if (!this.#trailerMode) throw malformedTrailer();
    const colon = text.indexOf(':');
    if (colon <= 0) throw malformedTrailer();
    const name = text.slice(0, colon).trim().toLowerCase();
    const value = text.slice(colon + 1).trim();
    if (name === 'x-amz-trailer-signature') {
      if (!this.#signedChunks || this.#trailerSignature !== undefined) throw malformedTrailer();
      this.#trailerSignature = value;
      return;
    }
    const e = this.#expected;
    if (this.#trailerSignature !== undefined || !e || !e.trailer || name !== e.header || this.#trailers.has(name)) {
      throw malformedTrailer();
    }
    const digest = decodeChecksumValue(e.algorithm, value);
    if (!digest) throw new SigV4Error('SIGV4_INVALID_CHECKSUM', invalidChecksumMessage(name, true));
    this.#trailers.set(name, value);
    e.value = value;
    e.digest = digest;
  }

  #trailerSatisfied(): boolean {
    const e = this.#expected;
    if (e?.trailer && e.digest === undefined) return false;
    if (this.#signedChunks && this.#auth.payload.kind === 'streaming-signed-trailer' && this.#trailers.size > 0) {
      return this.#trailerSignature !== undefined;
    }
    return true;
  }

  #endTrailer(): void {
    if (!this.#trailerSatisfied()) throw malformedTrailer();
    if (this.#trailerSignature !== undefined) {
      // AWS4-HMAC-SHA256-TRAILER over the trailing headers, each `name:value\n`
      let canonical = '';
      for (const [name, value] of this.#trailers) canonical += `${name}:${value}\n`;
      const a = this.#auth;
      const toSign = `AWS4-HMAC-SHA256-TRAILER\n${a.amzDate}\n${a.scope}\n${this.#previousSignature}\n${sha256Hex(canonical)}`;
      const expected = hmac(a.signingKey, toSign).toString('hex');
      if (!signaturesEqual(expected, this.#trailerSignature)) {
        throw new SigV4Error('SIGV4_CHUNK_SIGNATURE_MISMATCH', MESSAGES.signatureMismatch, {
          AWSAccessKeyId: a.accessKeyId,
          StringToSign: toSign,
          SignatureProvided: this.#trailerSignature,
        });
      }
    }
    this.#state = State.Done;
  }
}

/**
 * A Transform from the raw request body to the decoded payload: plain or aws-chunked, verifying the hex
 * `x-amz-content-sha256`, chunk and trailer signatures, `x-amz-decoded-content-length` and the one
 * `x-amz-checksum-*` (header or trailer). Header problems throw here, synchronously; body problems destroy the
 * stream with a {@link SigV4Error}, so `pipeline()` rejects before anything downstream commits.
 * With `opts.compute`, a body that carries no checksum gets that algorithm's checksum computed, and `result()`
 * reports it (as S3 does for the parts of an upload created with a checksum algorithm).
 * @see https://docs.aws.amazon.com/AmazonS3/latest/API/sigv4-streaming.html
 */
export function createBodyDecoder(auth: AuthContext, headers: Headers, opts: BodyDecoderOptions = {}): BodyDecoder {
  return new AwsBodyDecoder(auth, headers, opts);
}
