/**
 * The seven multipart operations. Parts stream through the auth decoder into the store, each encrypted under its
 * own key; completion writes the object record over the parts' files (no data copied). The sessions themselves are
 * @coffer/multipart's MultipartStore.
 * @see https://docs.aws.amazon.com/AmazonS3/latest/API/API_CreateMultipartUpload.html
 * @see https://docs.aws.amazon.com/AmazonS3/latest/API/API_UploadPart.html
 * @see https://docs.aws.amazon.com/AmazonS3/latest/API/API_UploadPartCopy.html
 * @see https://docs.aws.amazon.com/AmazonS3/latest/API/API_CompleteMultipartUpload.html
 * @see https://docs.aws.amazon.com/AmazonS3/latest/API/API_AbortMultipartUpload.html
 * @see https://docs.aws.amazon.com/AmazonS3/latest/API/API_ListParts.html
 * @see https://docs.aws.amazon.com/AmazonS3/latest/API/API_ListMultipartUploads.html
 */
import { Transform, type Readable } from 'node:stream';

import type { Context } from 'koa';
import type { BucketRecord, ObjectRecord } from '@coffer/blob-store';
import { CHECKSUM_ALGORITHMS, createChecksum, type ChecksumAlgorithm } from '@coffer/checksum';
import {
  MULTIPART_LIMITS,
  parsePartNumber,
  uploadChecksumType,
  type PartRecord,
  type UploadRecord,
} from '@coffer/multipart';
import { checkContentMd5, parseContentMd5 } from '@coffer/sigv4';
import { parseCompleteMultipartUpload } from '@coffer/xml';
import { S3Error } from '../errors.ts';
import type { Services } from '../context.ts';
import type { BucketEndpoint, ObjectEndpoint } from '../operations.ts';
import { copySourceObject, requestBucket, writerOf, xmlBody } from '../access.ts';
import { newObjectAcl } from '../acl.ts';
import { newObjectLock } from '../object-lock.ts';
import { readCustomerKey, refuseSseHeader, writeEncryption } from '../encryption.ts';
import {
  checkKey,
  declaredSize,
  evaluateConditions,
  header,
  objectUrl,
  quoted,
  readMetadata,
  requestBody,
  setEncryptionHeaders,
} from '../http.ts';
import { writePreconditions } from '../write-preconditions.ts';
import { encoder, integerParam, parseCopySource } from '../params.ts';
import { checksumTypeOf, owner, sendEmpty, sendXml, setChecksumHeader } from '../respond.ts';
import { setWrittenVersion } from '../versions.ts';
import { taggingHeader } from '../tags.ts';

// ------------------------------------------------------------------ helpers

/** The upload a request names (`uploadId` query parameter), in a bucket the caller owns. `NoSuchUpload`. */
async function loadUpload(
  ctx: Context,
  ep: ObjectEndpoint,
  services: Services,
): Promise<{ bucket: BucketRecord; upload: UploadRecord }> {
  const bucket = requestBucket(ctx);
  return { bucket, upload: await services.multipart.getUpload(ep.bucket, ep.key, ep.query.get('uploadId') ?? '') };
}

/** `x-amz-checksum-algorithm` of CreateMultipartUpload. */
function checksumAlgorithm(ctx: Context): ChecksumAlgorithm | undefined {
  const raw = header(ctx.req.headers, 'x-amz-checksum-algorithm');
  if (raw === undefined) return undefined;
  const alg = raw.trim().toUpperCase() as ChecksumAlgorithm;
  if (!CHECKSUM_ALGORITHMS.includes(alg)) {
    throw new S3Error('InvalidRequest', {
      message:
        'Checksum algorithm provided is unsupported. Please try again with any of the valid types: [CRC32, CRC32C, CRC64NVME, SHA1, SHA256]',
    });
  }
  return alg;
}

/** The whole-object `x-amz-checksum-*` header of a CompleteMultipartUpload, if any. */
function objectChecksumHeader(ctx: Context): { algorithm: ChecksumAlgorithm; value: string } | undefined {
  for (const algorithm of CHECKSUM_ALGORITHMS) {
    const value = header(ctx.req.headers, `x-amz-checksum-${algorithm.toLowerCase()}`);
    if (value !== undefined) return { algorithm, value };
  }
  return undefined;
}

/** `<ChecksumCRC32>…` elements for a stored checksum. */
function checksumElements(checksum: { algorithm: string; value: string } | undefined): Record<string, string> {
  return checksum ? { [`Checksum${checksum.algorithm}`]: checksum.value } : {};
}

/** The customer key a part request carries (checked against the upload by the MultipartStore). */
function partCustomer(ctx: Context, ep: ObjectEndpoint, services: Services, bucket: BucketRecord) {
  // Parts inherit the upload's encryption: `x-amz-server-side-encryption` is not taken here (Part B 1.1).
  refuseSseHeader(ctx);
  const enc = writeEncryption(ctx, ep, services, bucket);
  return enc.scheme === 'SSE-C' ? enc.customer : undefined;
}

// ------------------------------------------------------------------ operations

/** @see https://docs.aws.amazon.com/AmazonS3/latest/API/API_CreateMultipartUpload.html */
export async function createMultipartUpload(ctx: Context, ep: ObjectEndpoint, services: Services): Promise<void> {
  checkKey(ep.key);
  const bucket = requestBucket(ctx);
  // The owner and ACL are decided now and given to the object when the upload completes.
  const { owner, acl } = newObjectAcl(bucket, writerOf(ctx), ctx.req.headers, services);
  const lock = newObjectLock(bucket, (name) => header(ctx.req.headers, name));
  const metadata = { ...readMetadata(ctx.req.headers), tags: taggingHeader(ctx.req.headers), lock, acl };
  const encryption = writeEncryption(ctx, ep, services, bucket);
  const algorithm = checksumAlgorithm(ctx);
  const upload = await services.multipart.create(ep.bucket, ep.key, {
    owner,
    metadata,
    encryption,
    checksumAlgorithm: algorithm,
    checksumType: header(ctx.req.headers, 'x-amz-checksum-type'),
  });
  setEncryptionHeaders(ctx, upload);
  if (algorithm) {
    ctx.set('x-amz-checksum-algorithm', algorithm);
    ctx.set('x-amz-checksum-type', uploadChecksumType(upload)!);
  }
  sendXml(ctx, 'InitiateMultipartUploadResult', { Bucket: ep.bucket, Key: ep.key, UploadId: upload.uploadId });
}

/** @see https://docs.aws.amazon.com/AmazonS3/latest/API/API_UploadPart.html */
export async function uploadPart(ctx: Context, ep: ObjectEndpoint, services: Services): Promise<void> {
  const partNumber = parsePartNumber(ep.query.get('partNumber') ?? '');
  const { bucket, upload } = await loadUpload(ctx, ep, services);
  const customer = partCustomer(ctx, ep, services, bucket);
  const mp = services.multipart;
  mp.dataKey(upload, customer).fill(0); // the key check comes before the body (Part B rows 10–12)
  const size = declaredSize(ctx.req.headers);
  if (size !== undefined && size > MULTIPART_LIMITS.maxPartSize) {
    throw new S3Error('EntityTooLarge', {
      extra: { ProposedSize: size, MaxSizeAllowed: MULTIPART_LIMITS.maxPartSize },
    });
  }
  const contentMd5 = parseContentMd5(header(ctx.req.headers, 'content-md5'));
  // A part of an upload with a checksum algorithm gets that checksum even when the client sent none (as in S3).
  const body = requestBody(ctx, { compute: upload.checksumAlgorithm });
  const part = await mp.uploadPart(upload, partNumber, body, {
    customer,
    beforeCommit: ({ md5 }) => {
      if (contentMd5) checkContentMd5(header(ctx.req.headers, 'content-md5'), md5);
      return { checksum: body.result().checksum };
    },
  });
  ctx.set('ETag', quoted(part.etag));
  setEncryptionHeaders(ctx, upload);
  if (part.checksum) ctx.set(`x-amz-checksum-${part.checksum.algorithm.toLowerCase()}`, part.checksum.value);
  sendEmpty(ctx);
}

/** Parses `x-amz-copy-source-range` (`bytes=first-last`, both required) against the source size. */
function copySourceRange(raw: string | undefined, size: number): { start: number; end: number } | undefined {
  if (raw === undefined) return undefined;
  const m = /^bytes=(\d+)-(\d+)$/.exec(raw.trim());
  if (!m || Number(m[1]) > Number(m[2])) {
    throw new S3Error('InvalidArgument', {
      message:
        'The x-amz-copy-source-range value must be of the form bytes=first-last where first and last are the zero-based offsets of the first and last bytes to copy',
      extra: { ArgumentName: 'x-amz-copy-source-range', ArgumentValue: raw },
    });
  }
  const start = Number(m[1]);
  const end = Number(m[2]);
  if (end >= size) {
    throw new S3Error('InvalidArgument', {
      message: `Range specified is not valid for source object of size: ${size}`,
      extra: { ArgumentName: 'x-amz-copy-source-range', ArgumentValue: raw },
    });
  }
  return { start, end };
}

/** @see https://docs.aws.amazon.com/AmazonS3/latest/API/API_UploadPartCopy.html */
export async function uploadPartCopy(ctx: Context, ep: ObjectEndpoint, services: Services): Promise<void> {
  const headers = ctx.req.headers;
  const partNumber = parsePartNumber(ep.query.get('partNumber') ?? '');
  const source = parseCopySource(header(headers, 'x-amz-copy-source')!);
  const { bucket, upload } = await loadUpload(ctx, ep, services);
  const customer = partCustomer(ctx, ep, services, bucket);
  const mp = services.multipart;
  mp.dataKey(upload, customer).fill(0);
  const src: ObjectRecord = await copySourceObject(ctx, services, source);
  const sourceCustomer = readCustomerKey(ctx, ep, services, src, { copySource: true });
  evaluateConditions(headers, src, 'copy');
  const range = copySourceRange(header(headers, 'x-amz-copy-source-range'), src.size);
  const length = range ? range.end - range.start + 1 : src.size;
  if (length > MULTIPART_LIMITS.maxPartSize) {
    throw new S3Error('InvalidRequest', {
      message: `The specified copy range is larger than the maximum allowable size for a part: ${MULTIPART_LIMITS.maxPartSize}`,
    });
  }
  // Re-encrypted under the part's key (Part D 4.5): the source's plaintext is the part's body. With a checksum
  // algorithm on the upload, the part gets that checksum, computed as the plaintext goes by (as for UploadPart).
  const body = await services.store.openObject(src, { range, customer: sourceCustomer });
  const algorithm = upload.checksumAlgorithm;
  const sum = algorithm ? createChecksum(algorithm) : undefined;
  let input: Readable = body;
  if (sum) {
    const tap = new Transform({
      transform(chunk: Buffer, _e, cb) {
        sum.update(chunk);
        cb(null, chunk);
      },
    });
    body.on('error', (err) => tap.destroy(err));
    input = body.pipe(tap);
  }
  let part: PartRecord;
  try {
    part = await mp.uploadPart(upload, partNumber, input, {
      customer,
      beforeCommit: async () =>
        sum
          ? { checksum: { algorithm: algorithm!, value: (await sum.digest()).toString('base64'), computed: true } }
          : undefined,
    });
  } finally {
    body.destroy();
  }
  setEncryptionHeaders(ctx, upload);
  sendXml(ctx, 'CopyPartResult', {
    LastModified: new Date(part.lastModified),
    ETag: quoted(part.etag),
    ...checksumElements(part.checksum),
  });
}

/** @see https://docs.aws.amazon.com/AmazonS3/latest/API/API_CompleteMultipartUpload.html */
export async function completeMultipartUpload(ctx: Context, ep: ObjectEndpoint, services: Services): Promise<void> {
  const uploadId = ep.query.get('uploadId') ?? '';
  // SSE-C headers are accepted and not needed: completion copies no data (Part A). The upload is not loaded here:
  // an upload that completed already is answered by complete() itself, as S3 answers a retried Complete.
  const bucket = requestBucket(ctx);
  // Its x-amz-checksum-* header is the completed object's checksum, not the XML's.
  const request = await parseCompleteMultipartUpload(xmlBody(ctx, { ignoreChecksumHeaders: true }));
  const preconditions = writePreconditions(ctx.req.headers);
  const sizeHeader = header(ctx.req.headers, 'x-amz-mp-object-size');
  if (sizeHeader !== undefined && !/^\d+$/.test(sizeHeader.trim())) {
    throw new S3Error('InvalidArgument', {
      message: 'Value for x-amz-mp-object-size header is invalid.',
      extra: { ArgumentName: 'x-amz-mp-object-size', ArgumentValue: sizeHeader },
    });
  }
  const rec = await services.multipart.complete(ep.bucket, ep.key, uploadId, request.parts, {
    ...preconditions,
    objectSize: sizeHeader === undefined ? undefined : Number(sizeHeader),
    checksum: objectChecksumHeader(ctx),
    checksumType: header(ctx.req.headers, 'x-amz-checksum-type'),
  });
  setEncryptionHeaders(ctx, rec);
  setChecksumHeader(ctx, rec);
  setWrittenVersion(ctx, bucket, rec);
  sendXml(ctx, 'CompleteMultipartUploadResult', {
    Location: objectUrl(ctx, ep.bucket, ep.key),
    Bucket: ep.bucket,
    Key: ep.key,
    ETag: quoted(rec.etag),
    ...checksumElements(rec.checksum),
    ChecksumType: rec.checksum ? checksumTypeOf(rec.checksum.value) : undefined,
  });
}

/** @see https://docs.aws.amazon.com/AmazonS3/latest/API/API_AbortMultipartUpload.html */
export async function abortMultipartUpload(ctx: Context, ep: ObjectEndpoint, services: Services): Promise<void> {
  await services.multipart.abort(ep.bucket, ep.key, ep.query.get('uploadId') ?? '');
  sendEmpty(ctx, 204);
}

/** @see https://docs.aws.amazon.com/AmazonS3/latest/API/API_ListParts.html */
export async function listParts(ctx: Context, ep: ObjectEndpoint, services: Services): Promise<void> {
  // SSE-C headers are accepted and not needed (Part A).
  const { upload } = await loadUpload(ctx, ep, services);
  const maxParts = integerParam(ep.query, 'max-parts', MULTIPART_LIMITS.maxListEntries);
  const marker = integerParam(ep.query, 'part-number-marker', 0);
  const r = await services.multipart.listParts(upload, {
    partNumberMarker: marker,
    maxParts: Math.min(maxParts, MULTIPART_LIMITS.maxListEntries),
  });
  const initiator = owner(services, upload.owner);
  // Elements in the order of S3's responses (the API reference lists them alphabetically).
  sendXml(ctx, 'ListPartsResult', {
    Bucket: ep.bucket,
    Key: ep.key,
    UploadId: upload.uploadId,
    Initiator: initiator,
    Owner: initiator,
    StorageClass: 'STANDARD',
    PartNumberMarker: marker,
    NextPartNumberMarker: r.nextPartNumberMarker ?? marker,
    MaxParts: maxParts,
    IsTruncated: r.isTruncated,
    Part: r.parts.map((p) => ({
      PartNumber: p.partNumber,
      LastModified: new Date(p.lastModified),
      ETag: quoted(p.etag),
      Size: p.size,
      ...checksumElements(p.checksum),
    })),
    ChecksumAlgorithm: upload.checksumAlgorithm,
    ChecksumType: uploadChecksumType(upload),
  });
}

/** @see https://docs.aws.amazon.com/AmazonS3/latest/API/API_ListMultipartUploads.html */
export async function listMultipartUploads(ctx: Context, ep: BucketEndpoint, services: Services): Promise<void> {
  const q = ep.query;
  const enc = encoder(q);
  const maxUploads = integerParam(q, 'max-uploads', MULTIPART_LIMITS.maxListEntries);
  const prefix = q.get('prefix') ?? '';
  const delimiter = q.get('delimiter') || undefined;
  const keyMarker = q.get('key-marker') ?? '';
  const uploadIdMarker = q.get('upload-id-marker') ?? '';
  const r = await services.multipart.listUploads(ep.bucket, {
    prefix,
    delimiter,
    keyMarker: keyMarker || undefined,
    uploadIdMarker: uploadIdMarker || undefined,
    maxUploads: Math.min(maxUploads, MULTIPART_LIMITS.maxListEntries),
  });
  sendXml(ctx, 'ListMultipartUploadsResult', {
    Bucket: ep.bucket,
    KeyMarker: enc(keyMarker),
    UploadIdMarker: uploadIdMarker,
    NextKeyMarker: r.nextKeyMarker === undefined ? undefined : enc(r.nextKeyMarker),
    Prefix: enc(prefix),
    Delimiter: delimiter === undefined ? undefined : enc(delimiter),
    NextUploadIdMarker: r.nextUploadIdMarker,
    MaxUploads: maxUploads,
    IsTruncated: r.isTruncated,
    Upload: r.uploads.map((u) => {
      const who = owner(services, u.owner);
      // In the order of S3's responses (the API reference lists the members alphabetically).
      return {
        Key: enc(u.key),
        UploadId: u.uploadId,
        Initiator: who,
        Owner: who,
        StorageClass: 'STANDARD',
        Initiated: new Date(u.initiated),
        ChecksumAlgorithm: u.checksumAlgorithm,
        ChecksumType: uploadChecksumType(u),
      };
    }),
    CommonPrefixes: r.commonPrefixes.map((p) => ({ Prefix: enc(p) })),
    EncodingType: q.has('encoding-type') ? 'url' : undefined,
  });
}
