/**
 * Bucket operations: ListBuckets, CreateBucket, HeadBucket, DeleteBucket, GetBucketLocation, GetBucketVersioning
 * and bucket default encryption.
 * @see https://docs.aws.amazon.com/AmazonS3/latest/API/API_CreateBucket.html
 */
import type { Context } from 'koa';
import type { BucketEncryption, BucketSettings, Transaction } from '@coffer/blob-store';
import {
  S3_NAMESPACE,
  parseCreateBucketConfiguration,
  parseServerSideEncryptionConfiguration,
  parseVersioningConfiguration,
} from '@coffer/xml';
import { S3Error } from '../errors.ts';
import type { Services } from '../context.ts';
import type { BucketEndpoint, EndpointOf } from '../operations.ts';
import { currentUser, isValidBucketName, requestBucket, xmlBody } from '../access.ts';
import { admitAcl, headerAcl, parseOwnership, storedAcl } from '../acl.ts';
import { header } from '../http.ts';
import { sendEmpty, sendXml } from '../respond.ts';

/** Largest `max-buckets` of ListBuckets. */
const MAX_BUCKETS = 10_000;

/**
 * The caller's buckets in name order; paged when the client asks (`max-buckets`, `continuation-token`), filtered
 * by `prefix` and `bucket-region`.
 * @see https://docs.aws.amazon.com/AmazonS3/latest/API/API_ListBuckets.html
 */
export async function listBuckets(ctx: Context, ep: EndpointOf<'ListBuckets'>, services: Services): Promise<void> {
  const user = currentUser(ctx);
  const q = ep.query;
  const rawMax = q.get('max-buckets');
  if (rawMax !== undefined && !(/^\d+$/.test(rawMax) && Number(rawMax) >= 1 && Number(rawMax) <= MAX_BUCKETS)) {
    throw new S3Error('InvalidArgument', {
      message: `max-buckets must be between 1 and ${MAX_BUCKETS}`,
      extra: { ArgumentName: 'max-buckets', ArgumentValue: rawMax },
    });
  }
  const token = q.get('continuation-token');
  const after = token === undefined ? undefined : Buffer.from(token, 'base64url').toString('utf8');
  if (token !== undefined && (!/^[A-Za-z0-9_-]+$/.test(token) || !isValidBucketName(after!))) {
    throw new S3Error('InvalidArgument', {
      message: 'The continuation token provided is incorrect',
      extra: { ArgumentName: 'continuation-token', ArgumentValue: token },
    });
  }
  const prefix = q.get('prefix');
  const region = q.get('bucket-region');
  const all = (await services.store.listBuckets())
    .filter(
      (b) =>
        b.owner === user.id &&
        (prefix === undefined || b.name.startsWith(prefix)) &&
        (region === undefined || b.location === region),
    )
    .filter((b) => after === undefined || b.name > after)
    .sort((a, b) => (a.name < b.name ? -1 : a.name > b.name ? 1 : 0));
  const page = rawMax === undefined ? all : all.slice(0, Number(rawMax));
  sendXml(ctx, 'ListAllMyBucketsResult', {
    Owner: { ID: user.id, DisplayName: user.name },
    Buckets: {
      Bucket: page.map((b) => ({ Name: b.name, CreationDate: new Date(b.created), BucketRegion: b.location })),
    },
    ContinuationToken:
      page.length < all.length ? Buffer.from(page[page.length - 1]!.name, 'utf8').toString('base64url') : undefined,
    Prefix: prefix,
  });
}

/** `x-amz-bucket-object-lock-enabled` of CreateBucket: `true` or `false` (any case), absent = false. */
function objectLockHeader(ctx: Context): boolean {
  const raw = ctx.get('x-amz-bucket-object-lock-enabled');
  if (raw === '') return false;
  const value = raw.trim().toLowerCase();
  if (value !== 'true' && value !== 'false') {
    throw new S3Error('InvalidArgument', {
      message: 'Invalid x-amz-bucket-object-lock-enabled header value',
      extra: { ArgumentName: 'x-amz-bucket-object-lock-enabled', ArgumentValue: raw },
    });
  }
  return value === 'true';
}

/**
 * The access settings a new bucket starts with: the Object Ownership of `x-amz-object-ownership` or the server's
 * default, the server's default Block Public Access, and the ACL of the request's headers, which both must admit
 * (S3 refuses the CreateBucket, not just the ACL).
 */
function newBucketSettings(ctx: Context, services: Services, owner: string): BucketSettings {
  const raw = header(ctx.req.headers, 'x-amz-object-ownership');
  const { publicAccessBlock } = services.bucketDefaults;
  const settings: BucketSettings = {
    ownership: raw === undefined ? services.bucketDefaults.ownership : parseOwnership(raw, 'header'),
    ...(publicAccessBlock ? { publicAccessBlock: { ...publicAccessBlock } } : {}),
  };
  const grants = headerAcl(ctx.req.headers, { owner, bucketOwner: owner }, services);
  if (grants) admitAcl({ owner, ...settings }, grants, true);
  const acl = settings.ownership === 'BucketOwnerEnforced' ? undefined : storedAcl(grants, owner);
  return acl ? { ...settings, acl } : settings;
}

/**
 * A bucket the caller already owns is 409 BucketAlreadyOwnedByYou, except in us-east-1, where S3 keeps its legacy
 * answer: 200, and the bucket (objects, configuration) is left as it was (S3-ERRORS.md).
 * @see https://docs.aws.amazon.com/AmazonS3/latest/API/API_CreateBucket.html
 */
export async function createBucket(ctx: Context, ep: BucketEndpoint, services: Services): Promise<void> {
  const name = ep.bucket;
  if (!isValidBucketName(name)) throw new S3Error('InvalidBucketName', { extra: { BucketName: name } });
  const user = currentUser(ctx);
  const settings = newBucketSettings(ctx, services, user.id);
  const config = await parseCreateBucketConfiguration(xmlBody(ctx));
  const constraint = config?.locationConstraint;
  if (constraint && constraint !== services.region) {
    throw new S3Error('IllegalLocationConstraintException', {
      message: `The ${constraint} location constraint is incompatible for the region specific endpoint this request was sent to.`,
    });
  }
  const lockEnabled = objectLockHeader(ctx);
  try {
    await services.store.createBucket(name, user.id, {
      location: services.region,
      ...settings,
      ...(lockEnabled ? { objectLock: { enabled: true } } : {}),
    });
  } catch (err) {
    if ((err as { code?: string }).code !== 'BLOB_BUCKET_EXISTS') throw err;
    const existing = await services.store.getBucket(name);
    const owned = existing?.owner === user.id;
    if (!owned || services.region !== 'us-east-1') {
      throw new S3Error(owned ? 'BucketAlreadyOwnedByYou' : 'BucketAlreadyExists', { extra: { BucketName: name } });
    }
  }
  ctx.set('Location', `/${name}`);
  sendEmpty(ctx);
}

/** @see https://docs.aws.amazon.com/AmazonS3/latest/API/API_HeadBucket.html */
export async function headBucket(ctx: Context): Promise<void> {
  const bucket = requestBucket(ctx);
  ctx.set('x-amz-bucket-region', bucket.location);
  sendEmpty(ctx);
}

/**
 * Objects keep a bucket; incomplete multipart uploads do not: S3 deletes the bucket and aborts them (S3-ERRORS.md),
 * here in the same commit.
 * @see https://docs.aws.amazon.com/AmazonS3/latest/API/API_DeleteBucket.html
 */
export async function deleteBucket(ctx: Context, ep: BucketEndpoint, services: Services): Promise<void> {
  const bucket = requestBucket(ctx);
  try {
    const cascade = (tx: Transaction) => services.multipart.removeBucketUploads(tx, ep.bucket);
    await services.store.deleteBucket(ep.bucket, { cascade });
  } catch (err) {
    if ((err as { code?: string }).code === 'BLOB_BUCKET_NOT_EMPTY') {
      throw new S3Error('BucketNotEmpty', {
        ...(bucket.versioning
          ? { message: 'The bucket you tried to delete is not empty. You must delete all versions in the bucket.' }
          : {}),
        extra: { BucketName: ep.bucket },
      });
    }
    throw err;
  }
  sendEmpty(ctx, 204);
}

/** us-east-1 answers an empty LocationConstraint. @see https://docs.aws.amazon.com/AmazonS3/latest/API/API_GetBucketLocation.html */
export async function getBucketLocation(ctx: Context): Promise<void> {
  const bucket = requestBucket(ctx);
  // A text-only root element; the region is ours (letters, digits, dashes), so it needs no escaping.
  const location = bucket.location === 'us-east-1' ? '' : bucket.location;
  ctx.type = 'application/xml';
  ctx.body = `<?xml version="1.0" encoding="UTF-8"?>\n<LocationConstraint xmlns="${S3_NAMESPACE}">${location}</LocationConstraint>`;
}

/**
 * The versioning state; a bucket that never had one answers an empty configuration.
 * @see https://docs.aws.amazon.com/AmazonS3/latest/API/API_GetBucketVersioning.html
 */
export async function getBucketVersioning(ctx: Context): Promise<void> {
  const bucket = requestBucket(ctx);
  sendXml(ctx, 'VersioningConfiguration', bucket.versioning ? { Status: bucket.versioning } : {});
}

/**
 * Enables or suspends versioning. A configuration without Status is `IllegalVersioningConfigurationException`, a
 * value S3 does not know `MalformedXML`; MFA delete needs an MFA device, which Coffer has not: 501.
 * @see https://docs.aws.amazon.com/AmazonS3/latest/API/API_PutBucketVersioning.html
 */
export async function putBucketVersioning(ctx: Context, ep: BucketEndpoint, services: Services): Promise<void> {
  const bucket = requestBucket(ctx);
  const config = await parseVersioningConfiguration(xmlBody(ctx));
  if (config.mfaDelete !== undefined && config.mfaDelete !== 'Enabled' && config.mfaDelete !== 'Disabled')
    throw new S3Error('MalformedXML');
  if (config.status === undefined) throw new S3Error('IllegalVersioningConfigurationException');
  if (config.status !== 'Enabled' && config.status !== 'Suspended') throw new S3Error('MalformedXML');
  // Object Lock protects versions: its bucket cannot stop making them.
  if (bucket.objectLock && config.status === 'Suspended') {
    throw new S3Error('InvalidBucketState', {
      message: 'An Object Lock configuration is present on this bucket, so the versioning state cannot be changed.',
    });
  }
  if (config.mfaDelete === 'Enabled') {
    throw new S3Error('NotImplemented', {
      message: 'MFA delete is not implemented: Coffer has no MFA devices. Send MfaDelete Disabled, or leave it out.',
      extra: { Header: 'MfaDelete' },
    });
  }
  await services.store.updateBucket(ep.bucket, { versioning: config.status });
  sendEmpty(ctx);
}

/**
 * Every object is encrypted: with no configuration the implicit default is AES256 (S3-ENCRYPTION.md Part A).
 * `BlockedEncryptionTypes` is shown as it was configured.
 * @see https://docs.aws.amazon.com/AmazonS3/latest/API/API_GetBucketEncryption.html
 */
export async function getBucketEncryption(ctx: Context): Promise<void> {
  const bucket = requestBucket(ctx);
  const blocked = bucket.encryption?.blockedEncryptionTypes;
  sendXml(ctx, 'ServerSideEncryptionConfiguration', {
    Rule: {
      ApplyServerSideEncryptionByDefault: { SSEAlgorithm: bucket.encryption?.sseAlgorithm ?? 'AES256' },
      BucketKeyEnabled: false,
      ...(blocked ? { BlockedEncryptionTypes: { EncryptionType: blocked } } : {}),
    },
  });
}

/** `<BlockedEncryptionTypes>` of a PutBucketEncryption rule: `SSE-C` or `NONE`, not both. */
function blockedEncryptionTypes(values: string[] | undefined): BucketEncryption['blockedEncryptionTypes'] {
  if (values === undefined) return undefined;
  const set = new Set(values);
  for (const v of set) if (v !== 'SSE-C' && v !== 'NONE') throw new S3Error('MalformedXML');
  if (set.size !== 1) throw new S3Error('MalformedXML');
  return [...set] as ('SSE-C' | 'NONE')[];
}

/** @see https://docs.aws.amazon.com/AmazonS3/latest/API/API_PutBucketEncryption.html */
export async function putBucketEncryption(ctx: Context, ep: BucketEndpoint, services: Services): Promise<void> {
  const config = await parseServerSideEncryptionConfiguration(xmlBody(ctx));
  if (config.rules.length !== 1) throw new S3Error('MalformedXML');
  const [rule] = config.rules;
  if (rule.sseAlgorithm === 'aws:kms' || rule.sseAlgorithm === 'aws:kms:dsse') {
    throw new S3Error('NotImplemented', { extra: { Header: 'SSEAlgorithm' } });
  }
  if (rule.sseAlgorithm !== 'AES256') throw new S3Error('MalformedXML');
  if (rule.kmsMasterKeyId !== undefined) {
    throw new S3Error('InvalidArgument', {
      message: 'a KMSMasterKeyID is not applicable if the default sse algorithm is not aws:kms or aws:kms:dsse',
      extra: { ArgumentName: 'ApplyServerSideEncryptionByDefault' },
    });
  }
  const blocked = blockedEncryptionTypes(rule.blockedEncryptionTypes);
  await services.store.updateBucket(ep.bucket, {
    encryption: blocked ? { sseAlgorithm: 'AES256', blockedEncryptionTypes: blocked } : { sseAlgorithm: 'AES256' },
  });
  sendEmpty(ctx);
}

/** @see https://docs.aws.amazon.com/AmazonS3/latest/API/API_DeleteBucketEncryption.html */
export async function deleteBucketEncryption(ctx: Context, ep: BucketEndpoint, services: Services): Promise<void> {
  await services.store.updateBucket(ep.bucket, { encryption: undefined });
  sendEmpty(ctx, 204);
}
