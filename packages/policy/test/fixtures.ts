/** Shared test material: documents, principals and requests as the tests write them. */
import type { RequestContext, RequestPrincipal } from '../src/index.ts';
import { parsePolicy } from '../src/index.ts';

/** The bucket every bucket policy of the tests is for. */
export const BUCKET = 'photos';

/** A policy document with `statements`, as JSON text. */
export function documentOf(statements: unknown, version = '2012-10-17'): string {
  return JSON.stringify({ Version: version, Statement: statements });
}

/** A bucket policy for {@link BUCKET} from its statements. */
export function bucketPolicy(statements: unknown, version?: string) {
  return parsePolicy(documentOf(statements, version), 'bucket', { bucket: BUCKET });
}

/** A user policy from its statements. */
export function userPolicy(statements: unknown, version?: string) {
  return parsePolicy(documentOf(statements, version), 'user');
}

/** A user of account 111122223333. */
export function user(name: string): RequestPrincipal & { type: 'user' } {
  return {
    type: 'user',
    arn: `arn:aws:iam::111122223333:user/${name}`,
    account: '111122223333',
    canonicalId: Buffer.from(name.padEnd(32, '-')).toString('hex').slice(0, 64),
    userName: name,
    userId: `AIDA${name.toUpperCase()}`,
  };
}

export const ANONYMOUS: RequestPrincipal = { type: 'anonymous' };

/** A request for `action` on an object of {@link BUCKET} (or on the bucket when `key` is undefined). */
export function request(
  principal: RequestPrincipal,
  action: string,
  key: string | undefined,
  keys: RequestContext['keys'] = {},
): RequestContext {
  const resource = key === undefined ? `arn:aws:s3:::${BUCKET}` : `arn:aws:s3:::${BUCKET}/${key}`;
  return { principal, action, resource, keys, time: new Date('2026-12-03T18:00:00Z') };
}

/**
 * A valid bucket-policy statement (everyone may GetObject in {@link BUCKET}), with `over` replacing its members or,
 * where a value is `undefined`, removing them.
 */
export function statementOf(over: Record<string, unknown> = {}): Record<string, unknown> {
  const s: Record<string, unknown> = {
    Effect: 'Allow',
    Principal: '*',
    Action: 's3:GetObject',
    Resource: `arn:aws:s3:::${BUCKET}/*`,
  };
  for (const [name, value] of Object.entries(over)) {
    if (value === undefined) delete s[name];
    else s[name] = value;
  }
  return s;
}
