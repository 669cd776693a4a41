/**
 * @coffer/policy: the IAM/S3 policy language of bucket policies and user policies. `parsePolicy` reads and checks a
 * document as S3 and IAM do; `evaluate` decides a request against the policies that apply; `isPublicPolicy` says
 * whether a bucket policy is public; the built-in user policies are `readwrite`, `readonly` and `writeonly`.
 */
export { S3_ACTIONS, type ResourceKind } from './actions.ts';
export {
  BUILTIN_POLICIES,
  BUILTIN_POLICY_DOCUMENTS,
  type BuiltinPolicyName,
} from './builtin.ts';
export type { Condition, ConditionOperator } from './conditions.ts';
export { isPolicyError, POLICY_MESSAGES, PolicyError, type PolicyErrorCode } from './errors.ts';
export {
  type ContextValue,
  type Decision,
  type DecisionReason,
  type Evaluation,
  evaluate,
  type PolicySet,
  type RequestContext,
  type RequestPrincipal,
} from './evaluate.ts';
export {
  BUCKET_POLICY_MAX_BYTES,
  type ParseOptions,
  type PrincipalType,
  parsePolicy,
  USER_POLICY_MAX_CHARS,
} from './parse.ts';
export type { Pattern, Token } from './pattern.ts';
export { isPublicPolicy } from './public.ts';
export type { Policy, PolicyKind, PolicyVersion, Principals, Statement } from './types.ts';
