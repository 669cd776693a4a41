/** Stable codes of {@link PolicyError}. The server maps them to S3 errors (see README). */
export type PolicyErrorCode =
  /** The document is not a policy S3 or IAM would store: MalformedPolicy (bucket) or MalformedPolicyDocument (user). */
  | 'POLICY_MALFORMED'
  /** The document is over the size limit of its kind: PolicyTooLarge (bucket) or LimitExceeded (user). */
  | 'POLICY_TOO_LARGE';

/**
 * The messages AWS gives for a bad policy, as S3 (PutBucketPolicy) and IAM (PutUserPolicy) word them. They are used
 * as `error.message`, so the server can send them as they are.
 */
export const POLICY_MESSAGES = Object.freeze({
  firstByte: "Policies must be valid JSON and the first byte must be '{'",
  invalidJson: 'This policy contains invalid Json',
  syntax: 'Invalid policy syntax.',
  version: 'The policy must contain a valid version string',
  missingStatement: 'Missing required field Statement',
  emptyStatement: 'Could not parse the policy: Statement is empty!',
  duplicateSid: 'Statement IDs (SID) in a single policy must be unique',
  missingEffect: 'Missing required field Effect',
  missingPrincipal: 'Missing required field Principal',
  principal: 'Invalid principal in policy',
  userPrincipal: 'Policy document should not specify a principal.',
  missingAction: 'Missing required field Action',
  action: 'Policy has invalid action',
  missingResource: 'Missing required field Resource',
  resource: 'Policy has invalid resource',
  notApplicable: 'Action does not apply to any resource(s) in statement',
  conditionKey: 'Policy has an invalid condition key',
  conditionNotApplicable: 'Conditions do not apply to combination of actions and resources in statement',
  ipAddress: 'Invalid IP address in Conditions',
  bucketTooLarge: 'Policy exceeds the maximum allowed document size.',
});

/** Field names and values a message may quote back: short and printable, so no message carries a hostile string. */
const QUOTABLE = /^[\x21-\x7e]{1,64}$/;

/** `Unknown field X` for a member name the grammar does not have, or the syntax message for one not fit to quote. */
export function unknownField(name: string): string {
  return QUOTABLE.test(name) ? `Unknown field ${name}` : POLICY_MESSAGES.syntax;
}

/** `Invalid effect: X`, as S3 words an Effect other than Allow and Deny. */
export function invalidEffect(value: string): string {
  return QUOTABLE.test(value) ? `Invalid effect: ${value}` : POLICY_MESSAGES.syntax;
}

/** `Invalid Condition type : X`, as S3 words a condition operator it does not know. */
export function invalidConditionType(type: string): string {
  return QUOTABLE.test(type) ? `Invalid Condition type : ${type}` : POLICY_MESSAGES.syntax;
}

/** `Invalid value in Conditions for operator X`: a value the operator cannot compare (a number, date, base64). */
export function invalidConditionValue(operator: string): string {
  return `Invalid value in Conditions for operator ${operator}`;
}

/** `Cannot exceed quota for PolicySize: N`, IAM's message for a user policy over its size. */
export function userTooLarge(limit: number): string {
  return `Cannot exceed quota for PolicySize: ${limit}`;
}

/** Error thrown by {@link parsePolicy}: the document is refused, and `message` says why in AWS's words. */
export class PolicyError extends Error {
  /** Stable code: POLICY_MALFORMED or POLICY_TOO_LARGE. */
  readonly code: PolicyErrorCode;

  /**
   * @param code stable error code
   * @param message AWS's message for the fault (one of {@link POLICY_MESSAGES} or a function of this module)
   */
  constructor(code: PolicyErrorCode, message: string) {
    super(message);
    this.name = 'PolicyError';
    this.code = code;
  }
}

/** A POLICY_MALFORMED error with `message`. */
export function malformed(message: string): PolicyError {
  return new PolicyError('POLICY_MALFORMED', message);
}

/** True when `err` is a {@link PolicyError}, optionally with the given code. */
export function isPolicyError(err: unknown, code?: PolicyErrorCode): err is PolicyError {
  return err instanceof PolicyError && (code === undefined || err.code === code);
}
