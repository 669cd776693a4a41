/**
 * isPublicPolicy: whether a bucket policy is public as S3 judges it, for GetBucketPolicyStatus, BlockPublicPolicy
 * and RestrictPublicBuckets. "To be considered non-public, a bucket policy must grant access only to fixed values
 * (values that don't contain a wildcard or an AWS Identity and Access Management Policy Variable)" of a principal
 * or of one of the condition keys below; an `aws:SourceIp` block counts as fixed if it is no broader than /8
 * (IPv4) or /32 (IPv6).
 * @see https://docs.aws.amazon.com/AmazonS3/latest/userguide/access-control-block-public-access.html#access-control-block-public-access-policy-status
 */
import type { Condition } from './conditions.ts';
import { parseCidr } from './ip.ts';
import type { Policy } from './types.ts';

/** The keys that, held to fixed values, confine an allow to known callers. */
const CONFINING_KEYS = new Set([
  'aws:sourcearn',
  'aws:sourcevpc',
  'aws:sourcevpce',
  'aws:sourceowner',
  'aws:sourceaccount',
  'aws:principalorgid',
  'aws:principalaccount',
  'aws:principalarn',
  'aws:userid',
  's3:dataaccesspointarn',
  's3:dataaccesspointaccount',
]);
const FIXED_OPERATORS = new Set(['StringEquals', 'StringEqualsIgnoreCase', 'StringLike', 'ArnEquals', 'ArnLike']);

/**
 * True when an Allow statement of `policy` lets everyone in (`"Principal": "*"` or `{"AWS": "*"}`) without a
 * condition that holds the request to fixed values of a confining key. A user policy is never public.
 */
export function isPublicPolicy(policy: Policy): boolean {
  if (policy.kind !== 'bucket') return false;
  return policy.statements.some(
    (statement) =>
      statement.effect === 'Allow' && statement.principals?.everyone === true && !statement.conditions.some(confines),
  );
}

/** Whether one condition confines a statement: a request without the key, or with another value, fails it. */
function confines(condition: Condition): boolean {
  if (condition.ifExists || condition.set === 'all' || condition.negated) return false;
  if (condition.key === 'aws:sourceip') {
    return (
      condition.operator === 'IpAddress' &&
      condition.values.every((value) => {
        const block = parseCidr(value);
        return block !== undefined && block.prefix >= (block.bytes.length === 4 ? 8 : 32);
      })
    );
  }
  const fixed = condition.values.every((value) => !/[*?]/.test(value) && !value.includes('${'));
  return fixed && FIXED_OPERATORS.has(condition.operator) && CONFINING_KEYS.has(condition.key);
}
