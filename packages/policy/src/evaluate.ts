/**
 * evaluate: the decision of a request against a bucket policy and the requester's user policies, by AWS's logic:
 * an explicit Deny in any of them wins, then an Allow in any of them, and otherwise the request is denied
 * implicitly.
 * @see https://docs.aws.amazon.com/IAM/latest/UserGuide/reference_policies_evaluation-logic.html
 */
import { testCondition } from './conditions.ts';
import { keyName } from './keys.ts';
import { matchPattern, type VariableLookup } from './pattern.ts';
import type { Policy, Principals, Statement } from './types.ts';

/** Who sends the request. */
export type RequestPrincipal =
  | { readonly type: 'anonymous' }
  | {
      readonly type: 'user';
      /** `arn:aws:iam::<account>:user/<name>`. */
      readonly arn: string;
      /** The 12-digit account ID in the ARN. */
      readonly account: string;
      /** Canonical user ID (64 hex digits). */
      readonly canonicalId: string;
      /** `aws:username`. */
      readonly userName: string;
      /** `aws:userid`: the user's unique ID. */
      readonly userId: string;
    };

/** A context key's value: one value, or several (`s3:RequestObjectTagKeys`). Numbers and booleans as written. */
export type ContextValue = string | number | boolean | readonly (string | number | boolean)[];

/** What a request is, as a policy sees it. */
export interface RequestContext {
  readonly principal: RequestPrincipal;
  /** The action, `s3:` and its name (`s3:GetObject`). */
  readonly action: string;
  /**
   * The resource: `arn:aws:s3:::bucket` for a bucket's actions, `arn:aws:s3:::bucket/key` for an object's, `*` for
   * the account's (ListAllMyBuckets).
   */
  readonly resource: string;
  /** When the request was made: `aws:CurrentTime` and `aws:EpochTime`. Default: now. */
  readonly time?: Date;
  /**
   * Condition keys of the request, by name in any case (`aws:SecureTransport`, `aws:SourceIp`, `s3:prefix`,
   * `s3:ExistingObjectTag/<key>`, …). A key the request does not have is left out (or `undefined`). The keys that
   * follow from `principal` and `time` (aws:username, aws:userid, aws:PrincipalType, aws:PrincipalArn,
   * aws:PrincipalAccount, aws:CurrentTime, aws:EpochTime) are set by `evaluate` and cannot be given here.
   */
  readonly keys?: Readonly<Record<string, ContextValue | undefined>>;
}

/** The policies that apply to a request. */
export interface PolicySet {
  /** The bucket's policy (kind `bucket`), if it has one. */
  readonly bucketPolicy?: Policy;
  /** The requester's policies (kind `user`), built-in ones included. */
  readonly userPolicies?: readonly Policy[];
}

/** A decision: an Allow applies and no Deny does; a Deny applies; or nothing applies. */
export type Decision = 'allow' | 'deny' | 'implicit-deny';

/** The statement a decision rests on. */
export interface DecisionReason {
  readonly source: 'bucket-policy' | 'user-policy';
  /** Index in `userPolicies` (0 for the bucket policy). */
  readonly policy: number;
  /** Index of the statement in its policy. */
  readonly statement: number;
  readonly sid: string | undefined;
  readonly effect: 'Allow' | 'Deny';
}

/** The answer of {@link evaluate}. */
export interface Evaluation {
  /** The combined decision. */
  readonly decision: Decision;
  /** The deciding statement: the first Deny that applies, else the first Allow; none for an implicit deny. */
  readonly reason: DecisionReason | undefined;
  /** The bucket policy's own decision (`undefined` when there is none), for rules that need the bucket's allow. */
  readonly bucketPolicy: Decision | undefined;
  /** The user policies' own decision (`undefined` when there are none), for rules that need the user's allow. */
  readonly userPolicies: Decision | undefined;
}

/**
 * Evaluates `request` against `policies`. Never throws on any request. The combined decision is AWS's for a
 * request within one account (either side may allow); a caller that needs both sides to allow (another user's
 * bucket) reads `bucketPolicy` and `userPolicies`.
 */
export function evaluate(request: RequestContext, policies: PolicySet): Evaluation {
  const keys = contextKeys(request);
  const lookup: VariableLookup = (key) => {
    const values = keys.get(key);
    return values?.length === 1 ? values[0] : undefined;
  };
  const results: Array<{ decision: Decision; reason: DecisionReason | undefined }> = [];
  const bucket =
    policies.bucketPolicy === undefined
      ? undefined
      : decide(policies.bucketPolicy, 'bucket-policy', 0, request, keys, lookup);
  if (bucket !== undefined) results.push(bucket);
  let user: { decision: Decision; reason: DecisionReason | undefined } | undefined;
  for (const [index, policy] of (policies.userPolicies ?? []).entries()) {
    const result = decide(policy, 'user-policy', index, request, keys, lookup);
    results.push(result);
    if (user === undefined || rank(result.decision) > rank(user.decision)) user = result;
  }
  const deciding = results.find((r) => r.decision === 'deny') ?? results.find((r) => r.decision === 'allow');
  return Object.freeze({
    decision: deciding?.decision ?? 'implicit-deny',
    reason: deciding?.reason,
    bucketPolicy: bucket?.decision,
    userPolicies: user?.decision,
  });
}

const rank = (decision: Decision) => (decision === 'deny' ? 2 : decision === 'allow' ? 1 : 0);

/** One policy's decision: its first Deny that applies, else its first Allow, else implicit. */
function decide(
  policy: Policy,
  source: DecisionReason['source'],
  index: number,
  request: RequestContext,
  keys: ReadonlyMap<string, readonly string[]>,
  lookup: VariableLookup,
): { decision: Decision; reason: DecisionReason | undefined } {
  let allow: DecisionReason | undefined;
  for (const [position, statement] of policy.statements.entries()) {
    // A statement without principals (a user policy's) names no one in a bucket policy's place: a user policy
    // passed as the bucket policy must not open the bucket to everyone.
    if (source === 'bucket-policy' && statement.principals === undefined) continue;
    if (!applies(statement, request, keys, lookup)) continue;
    const reason = { source, policy: index, statement: position, sid: statement.sid, effect: statement.effect };
    if (statement.effect === 'Deny') return { decision: 'deny', reason: Object.freeze(reason) };
    allow ??= Object.freeze(reason);
  }
  return { decision: allow === undefined ? 'implicit-deny' : 'allow', reason: allow };
}

function applies(
  statement: Statement,
  request: RequestContext,
  keys: ReadonlyMap<string, readonly string[]>,
  lookup: VariableLookup,
): boolean {
  if (statement.principals !== undefined) {
    if (names(statement.principals, request.principal, statement) === statement.notPrincipal) return false;
  }
  const action = String(request.action);
  if (statement.actions.some((p) => matchPattern(p, action, lookup, true)) === statement.notAction) return false;
  const resource = String(request.resource);
  if (statement.resources.some((p) => matchPattern(p, resource, lookup)) === statement.notResource) return false;
  return statement.conditions.every((condition) => testCondition(condition, keys.get(condition.key), lookup));
}

/**
 * Whether a statement's principals name the requester. An account names each of its users only in a Deny (or a
 * NotPrincipal): in an Allow, naming an account delegates to the account's own (user) policies and grants nothing
 * by itself, as on AWS.
 */
function names(principals: Principals, principal: RequestPrincipal, statement: Statement): boolean {
  if (principals.everyone) return true;
  if (principal.type !== 'user') return false;
  if (principals.users.includes(principal.arn)) return true;
  if (principals.canonicalUsers.includes(String(principal.canonicalId).toLowerCase())) return true;
  return principals.accounts.includes(principal.account) && statement.effect === 'Deny';
}

/** Every context key of the request, by {@link keyName}, each with its values as strings. */
function contextKeys(request: RequestContext): Map<string, string[]> {
  const keys = new Map<string, string[]>();
  for (const [name, value] of Object.entries(request.keys ?? {})) {
    const list = (Array.isArray(value) ? value : [value]).filter(
      (item) => typeof item === 'string' || typeof item === 'number' || typeof item === 'boolean',
    );
    if (list.length > 0) keys.set(keyName(name), list.map(String));
  }
  const time = request.time instanceof Date && !Number.isNaN(request.time.getTime()) ? request.time : new Date();
  keys.set('aws:currenttime', [time.toISOString().replace(/\.\d{3}Z$/, 'Z')]);
  keys.set('aws:epochtime', [String(Math.floor(time.getTime() / 1000))]);
  const principal = request.principal;
  for (const key of ['aws:username', 'aws:userid', 'aws:principalarn', 'aws:principalaccount']) keys.delete(key);
  if (principal?.type === 'user') {
    keys.set('aws:principaltype', ['User']);
    keys.set('aws:username', [String(principal.userName)]);
    keys.set('aws:userid', [String(principal.userId)]);
    keys.set('aws:principalarn', [String(principal.arn)]);
    keys.set('aws:principalaccount', [String(principal.account)]);
  } else {
    keys.set('aws:principaltype', ['Anonymous']);
  }
  return keys;
}
