/**
 * Argument checks of the store's public methods (bucket names, keys, record namespaces and ids, object metadata) and
 * the write preconditions (If-None-Match: *, If-Match) checked against the current object record.
 */
import { unquoteEtag } from '@coffer/checksum';

import { BlobStoreError } from './errors.ts';
import { SEP } from './schema.ts';
import type { BucketPatch } from './contract.ts';
import type { BucketRecord, ObjectLock, ObjectMetadata, ObjectRecord, PutOptions } from './types.ts';

const LONE_SURROGATE = /[\uD800-\uDBFF](?![\uDC00-\uDFFF])|(?<![\uD800-\uDBFF])[\uDC00-\uDFFF]/;
const NAMESPACE = /^[A-Za-z0-9][A-Za-z0-9._-]{0,63}$/;

/** `name` if it is a bucket name the key layout can hold (non-empty, no NUL); TypeError otherwise. */
export function checkBucketName(name: unknown): string {
  if (typeof name !== 'string' || name === '' || name.includes(SEP))
    throw new TypeError('bucket must be a non-empty string without NUL');
  return name;
}

/** `key` if it is a non-empty, well-formed Unicode string (S3 keys are UTF-8); TypeError otherwise. */
export function checkKey(key: unknown): string {
  if (typeof key !== 'string' || key === '' || LONE_SURROGATE.test(key))
    throw new TypeError('key must be a non-empty, well-formed Unicode string');
  return key;
}

/** `ns` if it is a record namespace (1–64 of `[A-Za-z0-9._-]`); TypeError otherwise. */
export function checkNamespace(ns: unknown): string {
  if (typeof ns !== 'string' || !NAMESPACE.test(ns))
    throw new TypeError('ns must match /^[A-Za-z0-9][A-Za-z0-9._-]{0,63}$/');
  return ns;
}

/** `id` if it is a non-empty string (a record id); TypeError otherwise. */
export function checkId(id: unknown): string {
  if (typeof id !== 'string' || id === '') throw new TypeError('id must be a non-empty string');
  return id;
}

/** Copies the known metadata fields (and nothing else) of `m`. */
export function pickMetadata(m: ObjectMetadata): ObjectMetadata {
  if (m === null || typeof m !== 'object') throw new TypeError('metadata must be an object');
  const out: ObjectMetadata = { userMeta: { ...(m.userMeta ?? {}) } };
  for (const f of [
    'contentType',
    'contentEncoding',
    'contentDisposition',
    'contentLanguage',
    'cacheControl',
    'expires',
  ] as const) {
    const v = m[f];
    if (v !== undefined) {
      if (typeof v !== 'string') throw new TypeError(`metadata.${f} must be a string`);
      out[f] = v;
    }
  }
  for (const [k, v] of Object.entries(out.userMeta)) {
    if (typeof v !== 'string') throw new TypeError(`metadata.userMeta.${k} must be a string`);
  }
  if (m.lock !== undefined) out.lock = pickLock(m.lock);
  if (m.tags !== undefined) {
    out.tags = { ...m.tags };
    for (const [k, v] of Object.entries(out.tags)) {
      if (typeof v !== 'string') throw new TypeError(`metadata.tags.${k} must be a string`);
    }
  }
  if (m.acl !== undefined) {
    if (!Array.isArray(m.acl)) throw new TypeError('metadata.acl must be an array of grants');
    out.acl = structuredClone(m.acl);
  }
  return out;
}

/** A copy of an object's lock state, checked for shape (the server checks the values). */
export function pickLock(lock: ObjectLock): ObjectLock {
  if (lock === null || typeof lock !== 'object') throw new TypeError('metadata.lock must be an object');
  const out: ObjectLock = {};
  if ((lock.mode === undefined) !== (lock.retainUntil === undefined))
    throw new TypeError('metadata.lock.mode and metadata.lock.retainUntil go together');
  if (lock.mode !== undefined) {
    if (lock.mode !== 'GOVERNANCE' && lock.mode !== 'COMPLIANCE')
      throw new TypeError('metadata.lock.mode must be GOVERNANCE or COMPLIANCE');
    if (typeof lock.retainUntil !== 'string' || Number.isNaN(Date.parse(lock.retainUntil)))
      throw new TypeError('metadata.lock.retainUntil must be an ISO 8601 date');
    out.mode = lock.mode;
    out.retainUntil = lock.retainUntil;
  }
  if (lock.legalHold !== undefined) {
    if (typeof lock.legalHold !== 'boolean') throw new TypeError('metadata.lock.legalHold must be a boolean');
    out.legalHold = lock.legalHold;
  }
  return out;
}

/** Checks the options of `putObject`; returns their metadata, copied by {@link pickMetadata}. */
export function checkPutOptions(opts: PutOptions): ObjectMetadata {
  if (typeof opts?.owner !== 'string') throw new TypeError('opts.owner must be a string');
  const metadata = pickMetadata(opts.metadata);
  if (opts.maxSize !== undefined && !(Number.isSafeInteger(opts.maxSize) && opts.maxSize >= 0)) {
    throw new RangeError('opts.maxSize must be a non-negative integer');
  }
  if (opts.sizeHint !== undefined && !(Number.isSafeInteger(opts.sizeHint) && opts.sizeHint >= 0)) {
    throw new RangeError('opts.sizeHint must be a non-negative integer');
  }
  return metadata;
}

/** `rec` with `patch` applied: the fields it names copied (so that the caller keeps no handle), or removed. */
export function patchBucket(rec: BucketRecord, patch: BucketPatch): BucketRecord {
  const next: BucketRecord = { ...rec };
  if ('encryption' in patch) {
    if (patch.encryption === undefined) delete next.encryption;
    else {
      const { sseAlgorithm, blockedEncryptionTypes } = patch.encryption;
      next.encryption = blockedEncryptionTypes
        ? { sseAlgorithm, blockedEncryptionTypes: [...blockedEncryptionTypes] }
        : { sseAlgorithm };
    }
  }
  if ('objectLock' in patch) {
    if (patch.objectLock === undefined) delete next.objectLock;
    else next.objectLock = structuredClone(patch.objectLock);
  }
  if ('cors' in patch) {
    if (patch.cors === undefined) delete next.cors;
    else next.cors = structuredClone(patch.cors);
  }
  if ('tags' in patch) {
    if (patch.tags === undefined) delete next.tags;
    else next.tags = { ...patch.tags };
  }
  if ('lifecycle' in patch) {
    if (patch.lifecycle === undefined) delete next.lifecycle;
    else next.lifecycle = structuredClone(patch.lifecycle);
  }
  if ('versioning' in patch) {
    // Once set, versioning is only enabled or suspended: a bucket never returns to unversioned.
    if (patch.versioning !== 'Enabled' && patch.versioning !== 'Suspended')
      throw new TypeError("patch.versioning must be 'Enabled' or 'Suspended'");
    next.versioning = patch.versioning;
  }
  for (const field of ['ownership', 'publicAccessBlock', 'acl', 'policy'] as const) {
    if (!(field in patch)) continue;
    if (patch[field] === undefined) delete next[field];
    else Object.assign(next, { [field]: structuredClone(patch[field]) });
  }
  return next;
}

/** Checks If-None-Match: * and If-Match against the current record (`undefined` = no object). */
export function checkPreconditions(
  prev: ObjectRecord | undefined,
  c: { ifNoneMatch?: boolean; ifMatch?: string },
): void {
  if (c.ifNoneMatch && prev !== undefined) {
    throw new BlobStoreError(
      'BLOB_PRECONDITION_FAILED',
      'At least one of the pre-conditions you specified did not hold',
      {
        details: { Condition: 'If-None-Match' },
      },
    );
  }
  if (c.ifMatch !== undefined) {
    if (prev === undefined) throw new BlobStoreError('BLOB_NO_SUCH_KEY', 'The specified key does not exist.');
    const want = unquoteEtag(c.ifMatch);
    if (want !== '*' && want !== prev.etag) {
      throw new BlobStoreError(
        'BLOB_PRECONDITION_FAILED',
        'At least one of the pre-conditions you specified did not hold',
        {
          details: { Condition: 'If-Match' },
        },
      );
    }
  }
}

/** `BLOB_NO_SUCH_BUCKET` for bucket `name`. */
export function noSuchBucket(name: string): BlobStoreError {
  return new BlobStoreError('BLOB_NO_SUCH_BUCKET', 'The specified bucket does not exist', {
    details: { BucketName: name },
  });
}
