/**
 * parsePolicy: a policy document read, checked as S3 (bucket policies) and IAM (user policies) check it, and
 * normalized for evaluation.
 * @see https://docs.aws.amazon.com/IAM/latest/UserGuide/reference_policies_grammar.html
 * @see https://docs.aws.amazon.com/AmazonS3/latest/userguide/bucket-policies.html
 */
import { S3_ACTIONS, type ResourceKind } from './actions.ts';
import { type Condition, parseConditions } from './conditions.ts';
import { invalidEffect, malformed, POLICY_MESSAGES, PolicyError, unknownField, userTooLarge } from './errors.ts';
import { type JsonObject, type JsonValue, parseJson } from './json.ts';
import { compilePattern, matchPattern, type Pattern } from './pattern.ts';
import type { Policy, PolicyKind, PolicyVersion, Principals, Statement } from './types.ts';

/** Largest bucket policy: 20 KB, counted in UTF-8 bytes without the whitespace between tokens, as S3 counts it. */
export const BUCKET_POLICY_MAX_BYTES = 20 * 1024;
/** Largest user policy: 2,048 characters without whitespace, IAM's quota for a user's inline policies. */
export const USER_POLICY_MAX_CHARS = 2048;
/** Longest text read at all: past this, no whitespace could bring a document under the limits. */
const MAX_TEXT = 1024 * 1024;

/** Options of {@link parsePolicy}. */
export interface ParseOptions {
  /**
   * The bucket a bucket policy is for (required for `kind: 'bucket'`): every Resource must name it, as S3
   * refuses a policy for other buckets ("Policy has invalid resource").
   */
  bucket?: string;
  /**
   * Whether a principal a bucket policy names exists: a user ARN, an account ID or a canonical user ID. S3 refuses a
   * policy naming a principal that does not exist ("Invalid principal in policy"); without this option every
   * well-formed principal is accepted.
   */
  principalExists?: (type: 'user' | 'account' | 'canonical-user', id: string) => boolean;
}

/** The kinds of principal {@link ParseOptions.principalExists} is asked about. */
export type PrincipalType = Parameters<NonNullable<ParseOptions['principalExists']>>[0];

const DOCUMENT_FIELDS = new Set(['Version', 'Id', 'Statement']);
const STATEMENT_FIELDS = new Set([
  'Sid',
  'Effect',
  'Principal',
  'NotPrincipal',
  'Action',
  'NotAction',
  'Resource',
  'NotResource',
  'Condition',
]);
const ARN_PREFIX = 'arn:aws:s3:::';
const ACCOUNT = /^\d{12}$/;
const ROOT_ARN = /^arn:aws:iam::(\d{12}):root$/;
const USER_ARN = /^arn:aws:iam::\d{12}:user\/(?:[\w+=,.@-]+\/)*[\w+=,.@-]{1,64}$/;
const CANONICAL_ID = /^[0-9a-fA-F]{64}$/;
const SERVICE = /^[a-z0-9-]+(?:\.[a-z0-9-]+)*\.amazonaws\.com(?:\.cn)?$/;
const ACTION = /^s3:[A-Za-z0-9*?]{1,128}$/i;

/**
 * Reads a policy document. Returns the policy, validated and frozen, or throws a {@link PolicyError} whose message
 * is AWS's for the first fault found: POLICY_TOO_LARGE over the size limit of `kind`, POLICY_MALFORMED otherwise.
 * A bucket policy must name a Principal and only `options.bucket` in its resources; a user policy must name none.
 */
export function parsePolicy(json: string, kind: PolicyKind, options: ParseOptions = {}): Policy {
  if (kind !== 'bucket' && kind !== 'user') throw new TypeError(`kind must be 'bucket' or 'user'`);
  if (kind === 'bucket' && typeof options.bucket !== 'string') {
    throw new TypeError('options.bucket must be the name of the bucket of a bucket policy');
  }
  if (typeof json !== 'string' || json[0] !== '{') throw malformed(POLICY_MESSAGES.firstByte);
  if (json.length > MAX_TEXT) throw tooLarge(kind);
  const { value, whitespace } = parseJson(json);
  const size = kind === 'bucket' ? Buffer.byteLength(json) - whitespace : json.length - whitespace;
  if (size > (kind === 'bucket' ? BUCKET_POLICY_MAX_BYTES : USER_POLICY_MAX_CHARS)) throw tooLarge(kind);
  const document = value as JsonObject;
  for (const name of document.keys()) if (!DOCUMENT_FIELDS.has(name)) throw malformed(unknownField(name));

  const version = document.has('Version') ? document.get('Version') : '2008-10-17';
  if (version !== '2012-10-17' && version !== '2008-10-17') throw malformed(POLICY_MESSAGES.version);
  const id = document.get('Id');
  if (id !== undefined && typeof id !== 'string') throw malformed(POLICY_MESSAGES.syntax);
  const given = document.get('Statement');
  if (given === undefined) throw malformed(POLICY_MESSAGES.missingStatement);
  const list = given instanceof Map ? [given] : given;
  if (!Array.isArray(list)) throw malformed(POLICY_MESSAGES.syntax);
  if (list.length === 0) throw malformed(POLICY_MESSAGES.emptyStatement);

  const exists = options.principalExists ?? (() => true);
  const context: Context = { kind, bucket: options.bucket ?? '', version, sids: new Set(), exists };
  const statements = list.map((item) => statement(item, context));
  return Object.freeze({ kind, version, id, statements: Object.freeze(statements) });
}

function tooLarge(kind: PolicyKind): PolicyError {
  const message = kind === 'bucket' ? POLICY_MESSAGES.bucketTooLarge : userTooLarge(USER_POLICY_MAX_CHARS);
  return new PolicyError('POLICY_TOO_LARGE', message);
}

interface Context {
  kind: PolicyKind;
  bucket: string;
  version: PolicyVersion;
  sids: Set<string>;
  exists: (type: PrincipalType, id: string) => boolean;
}

/** An element and whether it was written in its `Not` form. */
type Element = { value: JsonValue; not: boolean } | undefined;

function statement(item: JsonValue, context: Context): Statement {
  if (!(item instanceof Map)) throw malformed(POLICY_MESSAGES.syntax);
  for (const name of item.keys()) if (!STATEMENT_FIELDS.has(name)) throw malformed(unknownField(name));
  const element = (name: string): Element => {
    const plain = item.get(name);
    const not = item.get(`Not${name}`);
    if (plain !== undefined && not !== undefined) throw malformed(POLICY_MESSAGES.syntax);
    if (plain !== undefined) return { value: plain, not: false };
    return not === undefined ? undefined : { value: not, not: true };
  };

  const sid = item.get('Sid');
  if (sid !== undefined && typeof sid !== 'string') throw malformed(POLICY_MESSAGES.syntax);
  if (sid !== undefined && sid !== '') {
    if (context.sids.has(sid)) throw malformed(POLICY_MESSAGES.duplicateSid);
    context.sids.add(sid);
  }

  const effect = item.get('Effect');
  if (effect === undefined) throw malformed(POLICY_MESSAGES.missingEffect);
  if (typeof effect !== 'string') throw malformed(POLICY_MESSAGES.syntax);
  if (effect !== 'Allow' && effect !== 'Deny') throw malformed(invalidEffect(effect));

  const principal = element('Principal');
  if (context.kind === 'user' && principal !== undefined) throw malformed(POLICY_MESSAGES.userPrincipal);
  if (context.kind === 'bucket' && principal === undefined) throw malformed(POLICY_MESSAGES.missingPrincipal);
  // NotPrincipal with Allow would grant to everyone but a few: AWS advises against it; Coffer refuses it.
  if (principal?.not && effect === 'Allow') throw malformed(POLICY_MESSAGES.principal);
  const principals = principal === undefined ? undefined : parsePrincipals(principal.value, context.exists);

  const action = element('Action');
  if (action === undefined) throw malformed(POLICY_MESSAGES.missingAction);
  const actions = strings(action.value, POLICY_MESSAGES.action).map(actionPattern);

  const resource = element('Resource');
  if (resource === undefined) throw malformed(POLICY_MESSAGES.missingResource);
  const resources = strings(resource.value, POLICY_MESSAGES.resource).map((text) => resourcePattern(text, context));

  const named = namedActions(actions, action.not);
  if (context.kind === 'bucket' && !action.not && !resource.not) checkApplies(actions, resources);
  const condition = item.get('Condition');
  const conditions: Condition[] =
    condition === undefined
      ? []
      : parseConditions(condition, context.version === '2012-10-17', context.kind === 'bucket' ? named : undefined);

  return Object.freeze({
    sid,
    effect,
    principals,
    notPrincipal: principal?.not ?? false,
    actions: Object.freeze(actions),
    notAction: action.not,
    resources: Object.freeze(resources),
    notResource: resource.not,
    conditions: Object.freeze(conditions),
  });
}

/** An element's strings: one string, or a non-empty array of them. */
function strings(value: JsonValue, emptyMessage: string): string[] {
  if (typeof value === 'string') return [value];
  if (!Array.isArray(value) || value.some((item) => typeof item !== 'string')) {
    throw malformed(POLICY_MESSAGES.syntax);
  }
  if (value.length === 0) throw malformed(emptyMessage);
  return value as string[];
}

function parsePrincipals(value: JsonValue, exists: Context['exists']): Principals {
  const invalid = () => malformed(POLICY_MESSAGES.principal);
  const found = { everyone: false, users: [], accounts: [], canonicalUsers: [], services: [] } as {
    everyone: boolean;
    users: string[];
    accounts: string[];
    canonicalUsers: string[];
    services: string[];
  };
  const known = (type: PrincipalType, id: string, list: string[]) => {
    if (!exists(type, id)) throw invalid();
    list.push(id);
  };
  if (value === '*') return Object.freeze({ ...found, everyone: true });
  if (!(value instanceof Map) || value.size === 0) throw invalid();
  for (const [type, given] of value) {
    const list = Array.isArray(given) ? given : [given];
    if (list.length === 0 || list.some((item) => typeof item !== 'string')) throw invalid();
    for (const name of list as string[]) {
      if (type === 'AWS' && name === '*') found.everyone = true;
      else if (type === 'AWS' && ACCOUNT.test(name)) known('account', name, found.accounts);
      else if (type === 'AWS' && ROOT_ARN.test(name)) known('account', ROOT_ARN.exec(name)![1]!, found.accounts);
      else if (type === 'AWS' && USER_ARN.test(name)) known('user', name, found.users);
      else if (type === 'CanonicalUser' && CANONICAL_ID.test(name)) {
        known('canonical-user', name.toLowerCase(), found.canonicalUsers);
      } else if (type === 'Service' && SERVICE.test(name)) found.services.push(name);
      else throw invalid();
    }
  }
  for (const list of [found.users, found.accounts, found.canonicalUsers, found.services]) Object.freeze(list);
  return Object.freeze(found);
}

/** `*`, or `s3:` and a name with wildcards that names at least one S3 action (AWS refuses one naming none). */
function actionPattern(text: string): Pattern {
  if (text !== '*' && !ACTION.test(text)) throw malformed(POLICY_MESSAGES.action);
  const pattern = compilePattern(text, { wildcards: true, variables: false });
  if (actionsOf(pattern).next().done) throw malformed(POLICY_MESSAGES.action);
  return pattern;
}

function* actionsOf(pattern: Pattern): Generator<[string, ResourceKind]> {
  for (const entry of S3_ACTIONS) if (matchPattern(pattern, entry[0], noVariables, true)) yield entry;
}

const noVariables = () => undefined;

/** The actions a statement can apply to: those its Action names, or those its NotAction leaves. */
function namedActions(patterns: readonly Pattern[], not: boolean): string[] {
  const named = new Set(patterns.flatMap((pattern) => [...actionsOf(pattern)].map(([name]) => name)));
  return [...S3_ACTIONS.keys()].filter((name) => named.has(name) !== not);
}

/**
 * `arn:aws:s3:::bucket` or `arn:aws:s3:::bucket/key-pattern` (or `*` in a user policy). In a bucket policy the
 * bucket part must be able to name the policy's bucket; one holding a policy variable is judged when evaluated.
 */
function resourcePattern(text: string, context: Context): Pattern {
  const syntax = { wildcards: true, variables: context.version === '2012-10-17' };
  if (text === '*' && context.kind === 'user') return compilePattern(text, syntax);
  const rest = text.startsWith(ARN_PREFIX) ? text.slice(ARN_PREFIX.length) : '';
  if (rest === '' || /[\u0000-\u001f]/.test(rest)) throw malformed(POLICY_MESSAGES.resource);
  if (context.kind === 'bucket') {
    const slash = rest.indexOf('/');
    const bucketPart = compilePattern(slash === -1 ? rest : rest.slice(0, slash), syntax);
    if (!bucketPart.variables && !matchPattern(bucketPart, context.bucket, noVariables)) {
      throw malformed(POLICY_MESSAGES.resource);
    }
  }
  return compilePattern(text, syntax);
}

/** The kinds of resource a pattern can name: a bucket ARN has no `/`, an object's has one, `*` can cover both. */
function kindsOf(pattern: Pattern): ResourceKind[] {
  if (pattern.source === '*') return ['object', 'bucket', 'account'];
  const rest = pattern.source.slice(ARN_PREFIX.length);
  const kinds: ResourceKind[] = [];
  if (!rest.includes('/')) kinds.push('bucket');
  if (rest.includes('/') || pattern.wildcards) kinds.push('object');
  return kinds;
}

/** S3's check that each action of a bucket policy's statement applies to one of its resources. */
function checkApplies(actions: readonly Pattern[], resources: readonly Pattern[]): void {
  const kinds = new Set(resources.flatMap(kindsOf));
  for (const pattern of actions) {
    if (![...actionsOf(pattern)].some(([, kind]) => kinds.has(kind))) throw malformed(POLICY_MESSAGES.notApplicable);
  }
}
