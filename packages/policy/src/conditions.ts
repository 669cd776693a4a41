/**
 * The Condition element: its operators, the keys they test and the values they compare with, read from a policy
 * and tested against a request's values.
 * @see https://docs.aws.amazon.com/IAM/latest/UserGuide/reference_policies_elements_condition_operators.html
 * @see https://docs.aws.amazon.com/IAM/latest/UserGuide/reference_policies_condition-single-vs-multi-valued-context-keys.html
 */
import { conditionKeyActions } from './actions.ts';
import { invalidConditionType, invalidConditionValue, malformed, POLICY_MESSAGES } from './errors.ts';
import { addressBytes, type Cidr, inCidr, parseCidr } from './ip.ts';
import type { JsonValue } from './json.ts';
import { keyName } from './keys.ts';
import { compilePattern, matchPattern, type VariableLookup } from './pattern.ts';

/** The condition operators, without set qualifier and `IfExists`. */
const OPERATORS = [
  'StringEquals',
  'StringNotEquals',
  'StringEqualsIgnoreCase',
  'StringNotEqualsIgnoreCase',
  'StringLike',
  'StringNotLike',
  'NumericEquals',
  'NumericNotEquals',
  'NumericLessThan',
  'NumericLessThanEquals',
  'NumericGreaterThan',
  'NumericGreaterThanEquals',
  'DateEquals',
  'DateNotEquals',
  'DateLessThan',
  'DateLessThanEquals',
  'DateGreaterThan',
  'DateGreaterThanEquals',
  'Bool',
  'BinaryEquals',
  'IpAddress',
  'NotIpAddress',
  'ArnEquals',
  'ArnLike',
  'ArnNotEquals',
  'ArnNotLike',
  'Null',
] as const;

/** A condition operator. */
export type ConditionOperator = (typeof OPERATORS)[number];

/** The operators that hold when the request's value matches none of the policy's. */
const NEGATED: ReadonlySet<ConditionOperator> = new Set([
  'StringNotEquals',
  'StringNotEqualsIgnoreCase',
  'StringNotLike',
  'NumericNotEquals',
  'DateNotEquals',
  'NotIpAddress',
  'ArnNotEquals',
  'ArnNotLike',
]);

/** One key tested by one operator: `"StringLike": {"s3:prefix": ["home/", "docs/*"]}`. */
export interface Condition {
  /** The operator as written, qualifiers included (`ForAnyValue:StringLikeIfExists`). */
  readonly type: string;
  readonly operator: ConditionOperator;
  /** `ForAnyValue:` or `ForAllValues:`, for keys with several values. */
  readonly set: 'any' | 'all' | undefined;
  /** `…IfExists`: the condition holds when the request has no value for the key. */
  readonly ifExists: boolean;
  /** True for the negated operators (StringNotEquals, NotIpAddress, …). */
  readonly negated: boolean;
  /** The context key, its name in lower case (`aws:sourceip`; a tag key after `/` keeps its case). */
  readonly key: string;
  /** The policy's values, as strings. */
  readonly values: readonly string[];
  /** Whether one value of the request matches any of the policy's values (before negation). */
  readonly matches: (value: string, lookup: VariableLookup) => boolean;
}

const AWS_KEY = /^aws:[A-Za-z0-9]{1,64}(?:\/[\x21-\x7e]{1,128})?$/i;

/** The name of a condition key ({@link keyName}), or `undefined` if it is not one a policy may test. */
function conditionKey(written: string): string | undefined {
  const key = keyName(written);
  if (key.startsWith('aws:')) return AWS_KEY.test(written) ? key : undefined;
  if (key.startsWith('s3:') && conditionKeyActions(key) !== undefined) return key;
  return undefined;
}

/** Operator, set qualifier and `IfExists` of a written condition type, or `undefined`. */
function conditionType(
  type: string,
): { operator: ConditionOperator; set: 'any' | 'all' | undefined; ifExists: boolean } | undefined {
  let rest = type;
  let set: 'any' | 'all' | undefined;
  if (rest.startsWith('ForAnyValue:')) [set, rest] = ['any', rest.slice('ForAnyValue:'.length)];
  else if (rest.startsWith('ForAllValues:')) [set, rest] = ['all', rest.slice('ForAllValues:'.length)];
  const ifExists = rest.endsWith('IfExists');
  if (ifExists) rest = rest.slice(0, -'IfExists'.length);
  const operator = OPERATORS.find((name) => name === rest);
  if (operator === undefined) return undefined;
  // Null tests whether the key exists: neither a set qualifier nor IfExists means anything on it.
  if (operator === 'Null' && (ifExists || set !== undefined)) return undefined;
  return { operator, set, ifExists };
}

/** A condition value as a string: JSON strings, numbers and booleans are all accepted, as AWS does. */
function scalar(value: JsonValue): string | undefined {
  if (typeof value === 'string') return value;
  if (typeof value === 'number' || typeof value === 'boolean') return String(value);
  return undefined;
}

/**
 * Reads a statement's Condition element. `actions` is every action the statement can apply to (`undefined` for
 * a user policy, where IAM does not check which keys apply), for S3's "Conditions do not apply" check.
 */
export function parseConditions(
  element: JsonValue,
  variables: boolean,
  actions: readonly string[] | undefined,
): Condition[] {
  if (!(element instanceof Map)) throw malformed(POLICY_MESSAGES.syntax);
  const conditions: Condition[] = [];
  for (const [type, block] of element) {
    const parsed = conditionType(type);
    if (parsed === undefined) throw malformed(invalidConditionType(type));
    // An operator with no key would test nothing: refused, so that a condition left empty allows nothing unasked.
    if (!(block instanceof Map) || block.size === 0) throw malformed(POLICY_MESSAGES.syntax);
    for (const [written, given] of block) {
      const key = conditionKey(written);
      if (key === undefined) throw malformed(POLICY_MESSAGES.conditionKey);
      const applies = key.startsWith('s3:') ? conditionKeyActions(key) : '*';
      if (actions !== undefined && applies !== '*' && !actions.some((action) => applies!.has(action))) {
        throw malformed(POLICY_MESSAGES.conditionNotApplicable);
      }
      const list = Array.isArray(given) ? given : [given];
      const values = list.map(scalar);
      if (values.length === 0 || values.some((value) => value === undefined)) throw malformed(POLICY_MESSAGES.syntax);
      conditions.push(
        Object.freeze({
          type,
          ...parsed,
          negated: NEGATED.has(parsed.operator),
          key,
          values: Object.freeze(values as string[]),
          matches: matcher(parsed.operator, values as string[], variables),
        }),
      );
    }
  }
  return conditions;
}

/** The test of one request value against the policy's values, each value checked (and compiled) here. */
function matcher(
  operator: ConditionOperator,
  values: readonly string[],
  variables: boolean,
): (value: string, lookup: VariableLookup) => boolean {
  const bad = () => malformed(invalidConditionValue(operator));
  const every = <T>(read: (text: string) => T | undefined, error = bad): T[] =>
    values.map((text) => {
      const value = read(text);
      if (value === undefined) throw error();
      return value;
    });
  switch (operator) {
    case 'StringEquals':
    case 'StringNotEquals':
    case 'StringEqualsIgnoreCase':
    case 'StringNotEqualsIgnoreCase':
    case 'StringLike':
    case 'StringNotLike':
    case 'ArnEquals':
    case 'ArnNotEquals':
    case 'ArnLike':
    case 'ArnNotLike': {
      // StringEquals compares exactly (a `*` is a star); the Like and Arn operators take wildcards.
      const wildcards = operator.includes('Like') || operator.startsWith('Arn');
      const ignoreCase = operator.includes('IgnoreCase');
      const patterns = values.map((text) => compilePattern(text, { wildcards, variables }));
      return (value, lookup) => patterns.some((pattern) => matchPattern(pattern, value, lookup, ignoreCase));
    }
    case 'NumericEquals':
    case 'NumericNotEquals':
    case 'NumericLessThan':
    case 'NumericLessThanEquals':
    case 'NumericGreaterThan':
    case 'NumericGreaterThanEquals':
      return ordered(operator, every(parseNumber), parseNumber);
    case 'DateEquals':
    case 'DateNotEquals':
    case 'DateLessThan':
    case 'DateLessThanEquals':
    case 'DateGreaterThan':
    case 'DateGreaterThanEquals':
      return ordered(operator, every(parseDate), parseDate);
    case 'Bool':
    case 'Null': {
      const flags = every(parseBool);
      return (value) => {
        const flag = parseBool(value);
        return flag !== undefined && flags.includes(flag);
      };
    }
    case 'BinaryEquals': {
      const blobs = every(parseBase64);
      return (value) => {
        const blob = parseBase64(value);
        return blob !== undefined && blobs.some((expected) => expected.equals(blob));
      };
    }
    case 'IpAddress':
    case 'NotIpAddress': {
      const blocks: Cidr[] = every(parseCidr, () => malformed(POLICY_MESSAGES.ipAddress));
      return (value) => {
        const address = addressBytes(value);
        return address !== undefined && blocks.some((block) => inCidr(block, address));
      };
    }
  }
}

/** The test of a Numeric or Date operator: the request's value, read like the policy's, compared with each. */
function ordered(
  operator: ConditionOperator,
  expected: readonly number[],
  read: (text: string) => number | undefined,
): (value: string) => boolean {
  const compare = operator.replace(/^(Numeric|Date)/, '');
  return (text) => {
    const value = read(text);
    if (value === undefined) return false;
    return expected.some((bound) => {
      if (compare === 'Equals' || compare === 'NotEquals') return value === bound;
      if (compare === 'LessThan') return value < bound;
      if (compare === 'LessThanEquals') return value <= bound;
      if (compare === 'GreaterThan') return value > bound;
      return value >= bound;
    });
  };
}

/** A decimal number (`10`, `-2.5`), as Numeric operators and keys such as `s3:max-keys` hold it. */
export function parseNumber(text: string): number | undefined {
  return /^[+-]?(?:\d{1,30}(?:\.\d{0,30})?|\.\d{1,30})$/.test(text) ? Number(text) : undefined;
}

const ISO_DATE = /^(\d{4})-(\d{2})-(\d{2})(?:T(\d{2}):(\d{2})(?::(\d{2})(?:\.(\d{1,9}))?)?(Z|[+-]\d{2}:?\d{2})?)?$/;

/**
 * A date as Date operators take it: ISO 8601 (`2026-12-03`, `2026-12-03T18:00:00Z`, with an offset or fraction)
 * or seconds since the epoch (`aws:EpochTime`); milliseconds since the epoch, or `undefined` for anything else,
 * an impossible day (`2026-02-30`) included.
 */
export function parseDate(text: string): number | undefined {
  if (/^\d{1,12}$/.test(text)) return Number(text) * 1000;
  const m = ISO_DATE.exec(text);
  if (m === null) return undefined;
  const [year, month, day, hour = 0, minute = 0, second = 0] = m.slice(1, 7).map((part) => Number(part ?? 0));
  const ms = Number(((m[7] ?? '') + '000').slice(0, 3));
  const time = Date.UTC(year!, month! - 1, day!, hour, minute, second, ms);
  const check = new Date(time);
  if (check.getUTCMonth() !== month! - 1 || check.getUTCDate() !== day! || hour > 23 || minute > 59 || second > 59) {
    return undefined;
  }
  const zone = m[8];
  if (zone === undefined || zone === 'Z') return time;
  const [hours, minutes] = [Number(zone.slice(1, 3)), Number(zone.slice(-2))];
  if (hours > 23 || minutes > 59) return undefined;
  return time - (zone[0] === '-' ? -1 : 1) * (hours * 60 + minutes) * 60_000;
}

/** `true` or `false`, in any case, as Bool and Null take them. */
function parseBool(text: string): boolean | undefined {
  const lower = text.toLowerCase();
  return lower === 'true' ? true : lower === 'false' ? false : undefined;
}

/** The bytes of canonical, padded base64, as BinaryEquals takes them. */
function parseBase64(text: string): Buffer | undefined {
  if (!/^(?:[A-Za-z0-9+/]{4})*(?:[A-Za-z0-9+/]{2}==|[A-Za-z0-9+/]{3}=)?$/.test(text)) return undefined;
  return Buffer.from(text, 'base64');
}

/**
 * Whether `condition` holds for the request's `values` of its key (`undefined` when the request has none).
 * A missing key fails a condition, except a negated operator's (which holds), `…IfExists` and `ForAllValues:`
 * (which hold) and Null (which tests just that).
 */
export function testCondition(condition: Condition, values: readonly string[] | undefined, lookup: VariableLookup) {
  const present = values !== undefined && values.length > 0;
  if (condition.operator === 'Null') return condition.matches(String(!present), lookup);
  if (!present) {
    if (condition.ifExists) return true;
    if (condition.set !== undefined) return condition.set === 'all';
    return condition.negated;
  }
  const holds = (value: string) => condition.matches(value, lookup) !== condition.negated;
  if (condition.set === 'all') return values.every(holds);
  if (condition.set === 'any') return values.some(holds);
  // A single-valued test of a key with several values: any match counts, and a negated operator needs none.
  return condition.negated ? values.every(holds) : values.some(holds);
}
