/** The shape of a parsed policy, shared by the parser, the evaluator and the public-policy test. */
import type { Condition } from './conditions.ts';
import type { Pattern } from './pattern.ts';

/** A bucket policy (PutBucketPolicy) or a user policy (attached to a user, like an IAM inline policy). */
export type PolicyKind = 'bucket' | 'user';

/** The policy language versions: only 2012-10-17 has policy variables. */
export type PolicyVersion = '2012-10-17' | '2008-10-17';

/** The principals a statement names. */
export interface Principals {
  /** `"*"` or `{"AWS": "*"}`: everyone, the anonymous caller included. */
  readonly everyone: boolean;
  /** User ARNs: `arn:aws:iam::<account>:user/<name>`. */
  readonly users: readonly string[];
  /** Account IDs (12 digits), from `<id>` or `arn:aws:iam::<id>:root`. */
  readonly accounts: readonly string[];
  /** Canonical user IDs (64 hex digits, lower case). */
  readonly canonicalUsers: readonly string[];
  /** AWS service principals (`logging.s3.amazonaws.com`): accepted as S3 does, matched by no Coffer request. */
  readonly services: readonly string[];
}

/** One statement, validated. */
export interface Statement {
  readonly sid: string | undefined;
  readonly effect: 'Allow' | 'Deny';
  /** Principal or NotPrincipal (bucket policies); `undefined` in a user policy. */
  readonly principals: Principals | undefined;
  /** True when the statement has NotPrincipal (only with Deny). */
  readonly notPrincipal: boolean;
  /** Action or NotAction patterns, compared without regard to case. */
  readonly actions: readonly Pattern[];
  readonly notAction: boolean;
  /** Resource or NotResource patterns. */
  readonly resources: readonly Pattern[];
  readonly notResource: boolean;
  /** Every condition; all must hold. */
  readonly conditions: readonly Condition[];
}

/** A policy document, validated and normalized (a single statement or value becomes a list). Frozen. */
export interface Policy {
  readonly kind: PolicyKind;
  readonly version: PolicyVersion;
  readonly id: string | undefined;
  readonly statements: readonly Statement[];
}
