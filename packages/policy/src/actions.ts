/**
 * The S3 actions a policy may name, the kind of resource each applies to, and the S3 condition keys with the
 * actions each applies to, from AWS's Service Authorization Reference for Amazon S3.
 * @see https://docs.aws.amazon.com/service-authorization/latest/reference/list_amazons3.html
 */

/** What an action acts on: an object ARN (`bucket/key`), a bucket ARN, or the account (`*`). */
export type ResourceKind = 'object' | 'bucket' | 'account';

const OBJECT_ACTIONS = `AbortMultipartUpload BypassGovernanceRetention DeleteObject DeleteObjectTagging
  DeleteObjectVersion DeleteObjectVersionTagging GetObject GetObjectAcl GetObjectAttributes GetObjectLegalHold
  GetObjectRetention GetObjectTagging GetObjectTorrent GetObjectVersion GetObjectVersionAcl GetObjectVersionAttributes
  GetObjectVersionForReplication GetObjectVersionTagging GetObjectVersionTorrent InitiateReplication
  ListMultipartUploadParts ObjectOwnerOverrideToBucketOwner PutObject PutObjectAcl PutObjectLegalHold
  PutObjectRetention PutObjectTagging PutObjectVersionAcl PutObjectVersionTagging ReplicateDelete ReplicateObject
  ReplicateTags RestoreObject`;

const BUCKET_ACTIONS = `CreateBucket DeleteBucket DeleteBucketOwnershipControls DeleteBucketPolicy
  DeleteBucketWebsite GetAccelerateConfiguration GetAnalyticsConfiguration GetBucketAcl GetBucketCORS
  GetBucketLocation GetBucketLogging GetBucketNotification GetBucketObjectLockConfiguration
  GetBucketOwnershipControls GetBucketPolicy GetBucketPolicyStatus GetBucketPublicAccessBlock
  GetBucketRequestPayment GetBucketTagging GetBucketVersioning GetBucketWebsite GetEncryptionConfiguration
  GetIntelligentTieringConfiguration GetInventoryConfiguration GetLifecycleConfiguration GetMetricsConfiguration
  GetReplicationConfiguration ListBucket ListBucketMultipartUploads ListBucketVersions PutAccelerateConfiguration
  PutAnalyticsConfiguration PutBucketAcl PutBucketCORS PutBucketLogging PutBucketNotification
  PutBucketObjectLockConfiguration PutBucketOwnershipControls PutBucketPolicy PutBucketPublicAccessBlock
  PutBucketRequestPayment PutBucketTagging PutBucketVersioning PutBucketWebsite PutEncryptionConfiguration
  PutIntelligentTieringConfiguration PutInventoryConfiguration PutLifecycleConfiguration PutMetricsConfiguration
  PutReplicationConfiguration`;

const ACCOUNT_ACTIONS = `GetAccountPublicAccessBlock ListAllMyBuckets PutAccountPublicAccessBlock`;

const names = (list: string) => list.trim().split(/\s+/);

/** Every S3 action, `s3:` and its name as AWS spells it, with the kind of resource it acts on (frozen). */
export const S3_ACTIONS: ReadonlyMap<string, ResourceKind> = new Map([
  ...names(OBJECT_ACTIONS).map((name) => [`s3:${name}`, 'object'] as const),
  ...names(BUCKET_ACTIONS).map((name) => [`s3:${name}`, 'bucket'] as const),
  ...names(ACCOUNT_ACTIONS).map((name) => [`s3:${name}`, 'account'] as const),
]);

const ACLS = 'CreateBucket PutBucketAcl PutObject PutObjectAcl PutObjectVersionAcl';
const LIST = 'ListBucket ListBucketVersions';
const EXISTING_TAG = `DeleteObjectTagging DeleteObjectVersionTagging GetObject GetObjectAcl GetObjectAttributes
  GetObjectLegalHold GetObjectRetention GetObjectTagging GetObjectVersion GetObjectVersionAcl
  GetObjectVersionAttributes GetObjectVersionForReplication GetObjectVersionTagging PutObjectAcl PutObjectLegalHold
  PutObjectRetention PutObjectTagging PutObjectVersionAcl PutObjectVersionTagging`;
const VERSION_ID = `DeleteObjectVersion DeleteObjectVersionTagging GetObjectVersion GetObjectVersionAcl
  GetObjectVersionAttributes GetObjectVersionForReplication GetObjectVersionTagging GetObjectVersionTorrent
  PutObjectVersionAcl PutObjectVersionTagging`;
const LOCK = 'BypassGovernanceRetention PutObject PutObjectRetention';

/**
 * The S3 condition keys (lower case) and the actions each applies to; `'*'` applies to every action. A key that
 * ends in `/` takes a tag key after it (`s3:ExistingObjectTag/<key>`).
 */
const CONDITION_KEYS: ReadonlyMap<string, ReadonlySet<string> | '*'> = new Map(
  Object.entries({
    's3:authtype': '*',
    's3:signatureversion': '*',
    's3:signatureage': '*',
    's3:tlsversion': '*',
    's3:x-amz-content-sha256': '*',
    's3:resourceaccount': '*',
    's3:accesspointnetworkorigin': '*',
    's3:dataaccesspointaccount': '*',
    's3:dataaccesspointarn': '*',
    's3:prefix': LIST,
    's3:delimiter': LIST,
    's3:max-keys': LIST,
    's3:x-amz-acl': ACLS,
    's3:x-amz-grant-full-control': ACLS,
    's3:x-amz-grant-read': ACLS,
    's3:x-amz-grant-read-acp': ACLS,
    's3:x-amz-grant-write': ACLS,
    's3:x-amz-grant-write-acp': ACLS,
    's3:x-amz-server-side-encryption': 'PutObject ReplicateObject',
    's3:x-amz-server-side-encryption-aws-kms-key-id': 'PutObject ReplicateObject',
    's3:x-amz-server-side-encryption-customer-algorithm': 'PutObject ReplicateObject',
    's3:x-amz-copy-source': 'PutObject',
    's3:x-amz-metadata-directive': 'PutObject',
    's3:x-amz-storage-class': 'PutObject',
    's3:x-amz-website-redirect-location': 'PutObject',
    's3:if-match': 'PutObject',
    's3:if-none-match': 'PutObject',
    's3:locationconstraint': 'CreateBucket',
    's3:x-amz-object-ownership': 'CreateBucket PutBucketOwnershipControls',
    's3:existingobjecttag/': EXISTING_TAG,
    's3:requestobjecttag/': 'PutObject PutObjectTagging PutObjectVersionTagging',
    's3:requestobjecttagkeys': 'PutObject PutObjectTagging PutObjectVersionTagging',
    's3:versionid': VERSION_ID,
    's3:object-lock-mode': LOCK,
    's3:object-lock-retain-until-date': LOCK,
    's3:object-lock-remaining-retention-days': LOCK,
    's3:object-lock-legal-hold': 'PutObject PutObjectLegalHold',
  }).map(([key, actions]) => [key, actions === '*' ? '*' : new Set(names(actions).map((name) => `s3:${name}`))]),
);

/**
 * The actions an S3 condition key (lower case) applies to, `'*'` for all, or `undefined` when S3 has no such key.
 * A tag key (`s3:existingobjecttag/<key>`) must name a non-empty tag.
 */
export function conditionKeyActions(key: string): ReadonlySet<string> | '*' | undefined {
  const slash = key.indexOf('/');
  if (slash === -1) return CONDITION_KEYS.get(key);
  if (slash === key.length - 1) return undefined;
  return CONDITION_KEYS.get(key.slice(0, slash + 1));
}
