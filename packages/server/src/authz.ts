/**
 * The one authorization decision: may this principal perform this action on this bucket (and object)? Every
 * request passes through {@link authorize} (app.ts before its handler; POST uploads once their form names the
 * caller; copies for their source as well), so an operation cannot forget to ask. It is a pure function of what it
 * is given: the principal, the action, the records that carry ownership, Object Ownership, Block Public Access and
 * ACLs, and a slot for bucket and user policies.
 *
 * Evaluation, as S3 does it: an explicit Deny of a policy wins; then the resource's owner may; then an Allow of a
 * policy; then an ACL grant (unless the bucket's Object Ownership disables ACLs); otherwise an implicit deny.
 * @see https://docs.aws.amazon.com/AmazonS3/latest/userguide/how-s3-evaluates-access-control.html
 * @see https://docs.aws.amazon.com/AmazonS3/latest/userguide/acl-overview.html#permissions
 */
import type { AclGrant, AclPermission, BucketRecord, ObjectOwnership } from '@coffer/blob-store';
import type { S3Action } from './operations.ts';
import type { User } from './users.ts';

/** Who is asking: a user whose signature was verified, or anyone (an unsigned request). */
export type Principal = { type: 'user'; user: User } | { type: 'anonymous' };

/** The anonymous principal. */
export const ANONYMOUS: Principal = Object.freeze({ type: 'anonymous' });

/** What a policy says of a request: an explicit Deny, an Allow, or nothing (implicit deny). */
export type PolicyEffect = 'deny' | 'allow' | 'implicit-deny';

/** The bucket and user policies' verdict on a request (the slot @coffer/policy fills). */
export type PolicyEvaluator = (req: AuthzRequest) => PolicyEffect;

/** The object a request acts on, as far as authorization needs it. */
export interface AuthzObject {
  key: string;
  /** The canonical id of its writer (the record's `owner`). */
  owner: string;
  /** Its ACL; absent = private. */
  acl?: readonly AclGrant[];
  /** Its tags (`s3:ExistingObjectTag/<key>` in policies); absent = none. */
  tags?: Readonly<Record<string, string>>;
}

/** Everything a decision depends on. */
export interface AuthzRequest {
  principal: Principal;
  /** The action asked for; undefined for a CORS preflight, which S3 does not authorize. */
  action: S3Action | undefined;
  /** The bucket acted on; absent for the service (ListBuckets) and for CreateBucket. */
  bucket?: BucketRecord;
  /** The object, for the actions on an object's data, ACL, tags or attributes ({@link isObjectAction}). */
  object?: AuthzObject;
  /** Bucket and user policies; absent = none (implicit deny). */
  policy?: PolicyEvaluator;
}

/** A decision, and why (for logs and tests; never shown to the client, which sees AccessDenied). */
export interface Decision {
  allow: boolean;
  reason: string;
}

/** `http://acs.amazonaws.com/groups/global/AllUsers`: anyone, signed or not. */
export const ALL_USERS = 'http://acs.amazonaws.com/groups/global/AllUsers';
/** `http://acs.amazonaws.com/groups/global/AuthenticatedUsers`: any signed request. */
export const AUTHENTICATED_USERS = 'http://acs.amazonaws.com/groups/global/AuthenticatedUsers';

/** Actions whose resource is the object (its data, ACL, tags, attributes, lock) rather than the bucket. */
const OBJECT_ACTIONS: ReadonlySet<S3Action> = new Set<S3Action>([
  's3:GetObject',
  's3:GetObjectAttributes',
  's3:GetObjectAcl',
  's3:PutObjectAcl',
  's3:GetObjectTagging',
  's3:PutObjectTagging',
  's3:DeleteObjectTagging',
  's3:GetObjectRetention',
  's3:PutObjectRetention',
  's3:GetObjectLegalHold',
  's3:PutObjectLegalHold',
]);

/**
 * The ACL permission that grants an action, as S3 maps them; the resource is the object for
 * {@link OBJECT_ACTIONS}, the bucket otherwise. An action missing here is granted by no ACL (only the owner or a
 * policy may). ListParts and AbortMultipartUpload go with WRITE: whoever may upload parts may list and abandon them.
 * @see https://docs.aws.amazon.com/AmazonS3/latest/userguide/acl-overview.html#acl-access-policy-permission-mapping
 */
const ACL_PERMISSION: Readonly<Record<string, AclPermission>> = Object.freeze({
  's3:ListBucket': 'READ',
  's3:ListBucketVersions': 'READ',
  's3:ListBucketMultipartUploads': 'READ',
  's3:PutObject': 'WRITE',
  's3:DeleteObject': 'WRITE',
  's3:AbortMultipartUpload': 'WRITE',
  's3:ListMultipartUploadParts': 'WRITE',
  's3:GetBucketAcl': 'READ_ACP',
  's3:PutBucketAcl': 'WRITE_ACP',
  's3:GetObject': 'READ',
  's3:GetObjectAttributes': 'READ',
  's3:GetObjectAcl': 'READ_ACP',
  's3:PutObjectAcl': 'WRITE_ACP',
});

/** True for an action on an object's data, ACL, tags, attributes or lock (its decision needs the object). */
export function isObjectAction(action: S3Action | undefined): boolean {
  return action !== undefined && OBJECT_ACTIONS.has(action);
}

/** A bucket's Object Ownership as it acts: absent = BucketOwnerEnforced, deleted controls = ObjectWriter. */
export function ownershipOf(bucket: Pick<BucketRecord, 'ownership'>): ObjectOwnership {
  if (bucket.ownership === undefined) return 'BucketOwnerEnforced';
  return bucket.ownership === 'none' ? 'ObjectWriter' : bucket.ownership;
}

/** The owner of an object as S3 counts it: the bucket's owner while ACLs are disabled, else its writer. */
export function objectOwner(bucket: BucketRecord, object: { owner: string }): string {
  return ownershipOf(bucket) === 'BucketOwnerEnforced' ? bucket.owner : object.owner;
}

/** True for a grant to everyone or to every signed user (what Block Public Access calls public). */
export function isPublicGrant(grant: AclGrant): boolean {
  return (
    grant.grantee.type === 'Group' && (grant.grantee.uri === ALL_USERS || grant.grantee.uri === AUTHENTICATED_USERS)
  );
}

/** True when a grant is to this principal (IgnorePublicAcls set: the public groups count for nobody). */
function grantsTo(grant: AclGrant, principal: Principal, ignorePublic: boolean): boolean {
  const g = grant.grantee;
  if (g.type === 'CanonicalUser') return principal.type === 'user' && principal.user.id === g.id;
  if (ignorePublic && isPublicGrant(grant)) return false;
  return g.uri === ALL_USERS || (g.uri === AUTHENTICATED_USERS && principal.type === 'user');
}

const allow = (reason: string): Decision => ({ allow: true, reason });
const deny = (reason: string): Decision => ({ allow: false, reason });

/** Decides one request. Pure: the caller loads the records it names. */
export function authorize(req: AuthzRequest): Decision {
  const { principal, action, bucket } = req;
  if (action === undefined) return allow('a CORS preflight is not authorized: the CORS rules answer it');
  const policy = req.policy?.(req) ?? 'implicit-deny';
  if (policy === 'deny') return deny('explicitly denied by a policy');
  if (bucket === undefined) {
    if (principal.type === 'anonymous') return deny('an anonymous request has no account to act for');
    return allow('a user may list its buckets and create buckets');
  }
  const onObject = isObjectAction(action);
  if (onObject && req.object === undefined) throw new TypeError(`${action} needs the object to be decided`);
  const owner = onObject ? objectOwner(bucket, req.object!) : bucket.owner;
  if (principal.type === 'user' && principal.user.id === owner)
    return allow(onObject ? 'the object owner' : 'the bucket owner');
  if (policy === 'allow') return allow('allowed by a policy');
  if (ownershipOf(bucket) === 'BucketOwnerEnforced') return deny('ACLs are disabled (BucketOwnerEnforced)');
  const needed = ACL_PERMISSION[action];
  if (needed === undefined) return deny(`no ACL permission grants ${action}`);
  const acl = (onObject ? req.object!.acl : bucket.acl) ?? [];
  const ignorePublic = bucket.publicAccessBlock?.ignorePublicAcls === true;
  const grant = acl.find(
    (g) => (g.permission === needed || g.permission === 'FULL_CONTROL') && grantsTo(g, principal, ignorePublic),
  );
  return grant
    ? allow(`granted ${grant.permission} by the ${onObject ? 'object' : 'bucket'} ACL`)
    : deny(`no ${needed} grant in the ${onObject ? 'object' : 'bucket'} ACL`);
}
