/**
 * ACLs as requests state them (a canned `x-amz-acl`, `x-amz-grant-*` headers, an AccessControlPolicy document) and
 * as responses show them; and the two rules that decide whether a bucket takes one: Object Ownership
 * (BucketOwnerEnforced disables ACLs) and Block Public Access (BlockPublicAcls refuses public ones).
 * @see https://docs.aws.amazon.com/AmazonS3/latest/userguide/acl-overview.html
 * @see https://docs.aws.amazon.com/AmazonS3/latest/userguide/about-object-ownership.html
 */
import type { IncomingHttpHeaders } from 'node:http';
import type { AclGrant, AclPermission, BucketRecord, BucketSettings, ObjectOwnership } from '@coffer/blob-store';
import { ATTRS, type XmlElement } from '@coffer/xml';
import { ALL_USERS, AUTHENTICATED_USERS, isPublicGrant, ownershipOf } from './authz.ts';
import { S3Error } from './errors.ts';
import { header } from './http.ts';
import type { Services } from './context.ts';
import { owner } from './respond.ts';

/** The S3 log-delivery group (`log-delivery-write`); it grants nobody here, but an ACL may name it. */
const LOG_DELIVERY = 'http://acs.amazonaws.com/groups/s3/LogDelivery';
const GROUPS: ReadonlySet<string> = new Set([ALL_USERS, AUTHENTICATED_USERS, LOG_DELIVERY]);
/** S3 takes at most 100 grants in an ACL. @see https://docs.aws.amazon.com/AmazonS3/latest/userguide/acl-overview.html */
const MAX_GRANTS = 100;
const PERMISSIONS: ReadonlySet<string> = new Set(['READ', 'WRITE', 'READ_ACP', 'WRITE_ACP', 'FULL_CONTROL']);

const OWNERSHIPS: readonly ObjectOwnership[] = ['BucketOwnerEnforced', 'BucketOwnerPreferred', 'ObjectWriter'];

/** `x-amz-grant-*` header → the permission it grants, in the order the grants are listed (the owner's first). */
const GRANT_HEADERS: Readonly<Record<string, AclPermission>> = Object.freeze({
  'x-amz-grant-full-control': 'FULL_CONTROL',
  'x-amz-grant-read': 'READ',
  'x-amz-grant-write': 'WRITE',
  'x-amz-grant-read-acp': 'READ_ACP',
  'x-amz-grant-write-acp': 'WRITE_ACP',
});

/** Whose ACL it is: the owner of the resource, and the owner of its bucket (for the `bucket-owner-*` ACLs). */
export interface AclOwners {
  owner: string;
  bucketOwner: string;
}

const user = (id: string, permission: AclPermission): AclGrant => ({
  grantee: { type: 'CanonicalUser', id },
  permission,
});
const group = (uri: string, permission: AclPermission): AclGrant => ({ grantee: { type: 'Group', uri }, permission });

/**
 * The grants of a canned ACL. The `bucket-owner-*` ones name the bucket's owner only on an object someone else
 * owns; on a bucket they are `private`, as in S3.
 * @see https://docs.aws.amazon.com/AmazonS3/latest/userguide/acl-overview.html#canned-acl
 */
export function cannedAcl(name: string, who: AclOwners): AclGrant[] {
  const own = user(who.owner, 'FULL_CONTROL');
  const other = who.bucketOwner !== who.owner;
  switch (name) {
    case 'private':
      return [own];
    case 'public-read':
      return [own, group(ALL_USERS, 'READ')];
    case 'public-read-write':
      return [own, group(ALL_USERS, 'READ'), group(ALL_USERS, 'WRITE')];
    case 'authenticated-read':
      return [own, group(AUTHENTICATED_USERS, 'READ')];
    case 'bucket-owner-read':
      return other ? [own, user(who.bucketOwner, 'READ')] : [own];
    case 'bucket-owner-full-control':
      return other ? [own, user(who.bucketOwner, 'FULL_CONTROL')] : [own];
    case 'log-delivery-write':
      return [own, group(LOG_DELIVERY, 'WRITE'), group(LOG_DELIVERY, 'READ_ACP')];
    default:
      throw new S3Error('InvalidArgument', { extra: { ArgumentName: 'x-amz-acl', ArgumentValue: name } });
  }
}

/** One grantee of a grant header or an AccessControlPolicy, checked: a known user, a known group; no e-mail. */
function grantee(kind: string, value: string, services: Services): AclGrant['grantee'] {
  if (kind === 'id') {
    if (!services.users.byId(value))
      throw new S3Error('InvalidArgument', {
        message: 'Invalid id',
        extra: { ArgumentName: 'CanonicalUser/ID', ArgumentValue: value },
      });
    return { type: 'CanonicalUser', id: value };
  }
  if (kind === 'uri') {
    if (!GROUPS.has(value))
      throw new S3Error('InvalidArgument', {
        message: 'Invalid group uri',
        extra: { ArgumentName: 'Group/URI', ArgumentValue: value },
      });
    return { type: 'Group', uri: value };
  }
  // Users here have no e-mail addresses (S3 itself resolves them in a few old regions only).
  throw new S3Error('UnresolvableGrantByEmailAddress', { extra: { EmailAddress: value } });
}

/** Parses one `x-amz-grant-*` value: `id="…", uri="…", emailAddress="…"`, comma-separated. */
function parseGrantHeader(name: string, value: string, services: Services): AclGrant[] {
  const malformed = () =>
    new S3Error('InvalidArgument', {
      message: 'Argument format not recognized',
      extra: { ArgumentName: name, ArgumentValue: value },
    });
  const out: AclGrant[] = [];
  const item = /\s*(id|uri|emailAddress)\s*=\s*(?:"([^"]*)"|([^\s,"]+))\s*(?:,|$)/iy;
  while (item.lastIndex < value.length) {
    const m = item.exec(value);
    if (!m) throw malformed();
    const kind = m[1]!.toLowerCase() === 'emailaddress' ? 'email' : m[1]!.toLowerCase();
    out.push({ grantee: grantee(kind, m[2] ?? m[3]!, services), permission: GRANT_HEADERS[name]! });
  }
  if (out.length === 0) throw malformed();
  return out;
}

/**
 * The ACL a request's headers (or a POST form's `acl` field) ask for: a canned ACL, or the grants of the
 * `x-amz-grant-*` headers; undefined when they ask for none. Both at once are refused, as in S3.
 */
export function headerAcl(headers: IncomingHttpHeaders, who: AclOwners, services: Services): AclGrant[] | undefined {
  const canned = header(headers, 'x-amz-acl');
  const grantHeaders = Object.keys(GRANT_HEADERS).filter((h) => headers[h] !== undefined);
  if (canned !== undefined && grantHeaders.length > 0)
    throw new S3Error('InvalidRequest', { message: 'Specifying both Canned ACLs and Header Grants is not allowed' });
  if (canned !== undefined) return cannedAcl(canned, who);
  if (grantHeaders.length === 0) return undefined;
  const grants = grantHeaders.flatMap((h) => parseGrantHeader(h, header(headers, h)!, services));
  if (grants.length > MAX_GRANTS)
    throw new S3Error('InvalidArgument', { message: `An ACL can have at most ${MAX_GRANTS} grants` });
  return grants;
}

const child = (el: XmlElement | undefined, name: string) => el?.children.find((c) => c.name === name);
const text = (el: XmlElement | undefined, name: string) => child(el, name)?.text.trim();

/** The grants of an AccessControlPolicy document (PutBucketAcl, PutObjectAcl). `MalformedACLError` if it is not one. */
export function documentAcl(root: XmlElement | undefined, services: Services): AclGrant[] {
  if (root?.name !== 'AccessControlPolicy') throw new S3Error('MalformedACLError');
  const list = child(root, 'AccessControlList');
  if (!list || list.children.length > MAX_GRANTS) throw new S3Error('MalformedACLError');
  return list.children.map((g) => {
    const who = child(g, 'Grantee');
    const permission = text(g, 'Permission') ?? '';
    if (g.name !== 'Grant' || !who || !PERMISSIONS.has(permission)) throw new S3Error('MalformedACLError');
    // The type is an `xsi:type` attribute, whatever prefix the document bound the XMLSchema-instance namespace to.
    const type = Object.entries(who.attributes).find(([k]) => k === 'type' || k.endsWith(':type'))?.[1];
    const [kind, value] =
      type === 'CanonicalUser'
        ? ['id', text(who, 'ID')]
        : type === 'Group'
          ? ['uri', text(who, 'URI')]
          : type === 'AmazonCustomerByEmail'
            ? ['email', text(who, 'EmailAddress')]
            : [];
    if (kind === undefined || !value) throw new S3Error('MalformedACLError');
    return { grantee: grantee(kind, value, services), permission: permission as AclPermission };
  });
}

/** True when the grants say only that the owner has FULL_CONTROL (what a bucket without ACLs takes). */
function ownerOnly(grants: readonly AclGrant[], ownerId: string): boolean {
  return grants.every(
    (g) => g.permission === 'FULL_CONTROL' && g.grantee.type === 'CanonicalUser' && g.grantee.id === ownerId,
  );
}

/**
 * Checks that a bucket takes an ACL: with BucketOwnerEnforced only one that changes nothing (the owner's
 * FULL_CONTROL; `bucket-owner-full-control` on an object), else 400 AccessControlListNotSupported
 * (InvalidBucketAclWithObjectOwnership when creating the bucket); with BlockPublicAcls no public grant, else
 * 403 AccessDenied (InvalidBucketAclWithBlockPublicAccessError when creating the bucket).
 * @see https://docs.aws.amazon.com/AmazonS3/latest/userguide/access-control-block-public-access.html
 */
export function admitAcl(
  bucket: BucketSettings & { owner: string },
  grants: readonly AclGrant[],
  creating = false,
): void {
  if (ownershipOf(bucket) === 'BucketOwnerEnforced') {
    if (ownerOnly(grants, bucket.owner)) return;
    throw new S3Error(creating ? 'InvalidBucketAclWithObjectOwnership' : 'AccessControlListNotSupported');
  }
  if (bucket.publicAccessBlock?.blockPublicAcls && grants.some(isPublicGrant))
    throw new S3Error(creating ? 'InvalidBucketAclWithBlockPublicAccessError' : 'AccessDenied');
}

/** The grants to store: none for `private` (the default needs no record), else as given. */
export function storedAcl(grants: readonly AclGrant[] | undefined, ownerId: string): AclGrant[] | undefined {
  return grants === undefined || ownerOnly(grants, ownerId) ? undefined : grants.map((g) => structuredClone(g));
}

/** The AccessControlPolicy document of GetBucketAcl and GetObjectAcl. */
export function aclDocument(services: Services, ownerId: string, grants: readonly AclGrant[] | undefined) {
  const xsi = (type: string) => ({ 'xmlns:xsi': 'http://www.w3.org/2001/XMLSchema-instance', 'xsi:type': type });
  return {
    Owner: owner(services, ownerId),
    AccessControlList: {
      Grant: (grants ?? [user(ownerId, 'FULL_CONTROL')]).map((g) => ({
        Grantee:
          g.grantee.type === 'CanonicalUser'
            ? { [ATTRS]: xsi('CanonicalUser'), ...owner(services, g.grantee.id) }
            : { [ATTRS]: xsi('Group'), URI: g.grantee.uri },
        Permission: g.permission,
      })),
    },
  };
}

/** True when an ACL grants anything to everyone or every signed user, and Block Public Access does not void it. */
export function isPublicAcl(bucket: BucketRecord, grants: readonly AclGrant[] | undefined): boolean {
  if (ownershipOf(bucket) === 'BucketOwnerEnforced' || bucket.publicAccessBlock?.ignorePublicAcls) return false;
  return (grants ?? []).some(isPublicGrant);
}

/**
 * Who owns a new object and the ACL it is stored with, from the write's ACL headers (or a POST form's `acl`
 * field): the bucket's owner under BucketOwnerEnforced, and under BucketOwnerPreferred when the writer grants it
 * `bucket-owner-full-control`; otherwise the writer. An anonymous write (`writer` undefined) goes to the bucket's
 * owner, so that no object is left that nobody owns. The ACL is checked by {@link admitAcl}.
 * @see https://docs.aws.amazon.com/AmazonS3/latest/userguide/about-object-ownership.html
 */
export function newObjectAcl(
  bucket: BucketRecord,
  writer: string | undefined,
  headers: IncomingHttpHeaders,
  services: Services,
): { owner: string; acl?: AclGrant[] } {
  const ownership = ownershipOf(bucket);
  const toBucketOwner =
    writer === undefined ||
    ownership === 'BucketOwnerEnforced' ||
    (ownership === 'BucketOwnerPreferred' && header(headers, 'x-amz-acl') === 'bucket-owner-full-control');
  const owner = toBucketOwner ? bucket.owner : writer;
  const grants = headerAcl(headers, { owner, bucketOwner: bucket.owner }, services);
  if (grants) admitAcl(bucket, grants);
  const acl = ownership === 'BucketOwnerEnforced' ? undefined : storedAcl(grants, owner);
  return acl ? { owner, acl } : { owner };
}

/**
 * An Object Ownership value, from `<OwnershipControls>` or `x-amz-object-ownership`.
 * `what` names where it came from for the error.
 */
export function parseOwnership(value: string | undefined, what: 'header' | 'xml'): ObjectOwnership {
  if (OWNERSHIPS.includes(value as ObjectOwnership)) return value as ObjectOwnership;
  if (what === 'xml') throw new S3Error('MalformedXML');
  throw new S3Error('InvalidArgument', {
    message: 'Invalid x-amz-object-ownership header',
    extra: { ArgumentName: 'x-amz-object-ownership', ArgumentValue: value },
  });
}
