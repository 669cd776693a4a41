/**
 * The built-in user policies, as MinIO defines them (and operators know them from `mc admin policy`): `readwrite`
 * (every S3 action on every bucket and object), `readonly` (GetBucketLocation and GetObject), `writeonly`
 * (PutObject). `readwrite` also names `*`, the resource of account-level actions (ListAllMyBuckets), which MinIO's
 * `arn:aws:s3:::*` covers there.
 * @see https://min.io/docs/minio/linux/administration/identity-access-management/policy-based-access-control.html
 */
import { parsePolicy } from './parse.ts';
import type { Policy } from './types.ts';

/** The names of the built-in policies. */
export type BuiltinPolicyName = 'readwrite' | 'readonly' | 'writeonly';

const allow = (actions: string[], resources: string[]) =>
  JSON.stringify({ Version: '2012-10-17', Statement: [{ Effect: 'Allow', Action: actions, Resource: resources }] });

/** The built-in policies' documents, as a user would write them (frozen). */
export const BUILTIN_POLICY_DOCUMENTS: Readonly<Record<BuiltinPolicyName, string>> = Object.freeze({
  readwrite: allow(['s3:*'], ['arn:aws:s3:::*', '*']),
  readonly: allow(['s3:GetBucketLocation', 's3:GetObject'], ['arn:aws:s3:::*']),
  writeonly: allow(['s3:PutObject'], ['arn:aws:s3:::*']),
});

/** The built-in policies, parsed (kind `user`). */
export const BUILTIN_POLICIES: Readonly<Record<BuiltinPolicyName, Policy>> = Object.freeze({
  readwrite: parsePolicy(BUILTIN_POLICY_DOCUMENTS.readwrite, 'user'),
  readonly: parsePolicy(BUILTIN_POLICY_DOCUMENTS.readonly, 'user'),
  writeonly: parsePolicy(BUILTIN_POLICY_DOCUMENTS.writeonly, 'user'),
});
