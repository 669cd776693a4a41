import assert from 'node:assert/strict';
import { after, describe, it } from 'node:test';

import { evaluate, isPolicyError, POLICY_MESSAGES, parsePolicy } from '../src/index.ts';
import { DOCUMENTS, OBJECTS } from './bad-documents.ts';
import { ANONYMOUS, BUCKET, bucketPolicy, request } from './fixtures.ts';

/** The messages a refusal may carry: AWS's, fixed or with a short quoted name. */
const KNOWN = new Set<string>(Object.values(POLICY_MESSAGES));
const QUOTING =
  /^(Unknown field|Invalid effect:|Invalid Condition type :|Invalid value in Conditions for operator) \S+$/;

describe('parsePolicy: hostile and malformed bucket policies', () => {
  it(`should hold at least 100 documents (${DOCUMENTS.length})`, () => {
    assert.ok(DOCUMENTS.length >= 100);
  });

  for (const [what, text] of DOCUMENTS) {
    it(`should refuse ${what} with a PolicyError in AWS's words`, () => {
      let refused: unknown;
      try {
        const policy = parsePolicy(text, 'bucket', { bucket: BUCKET });
        assert.fail(`accepted: ${JSON.stringify(policy.statements.map((s) => s.effect))}`);
      } catch (err) {
        refused = err;
      }
      assert.ok(isPolicyError(refused), `not a PolicyError: ${String(refused)}`);
      assert.ok(KNOWN.has(refused.message) || QUOTING.test(refused.message), refused.message);
      assert.ok(refused.message.length <= 120);
    });
  }

  after(() => {
    assert.equal(({} as Record<string, unknown>).polluted, undefined);
    assert.equal(Object.hasOwn(Object.prototype, 'polluted'), false);
  });
});

describe('evaluate: accepted documents built to be slow or to confuse', () => {
  it('should match a pattern of many stars against a long key, and deny what it does not name', () => {
    const pattern = `arn:aws:s3:::${BUCKET}/${'*a'.repeat(2000)}b`;
    const policy = bucketPolicy([{ Effect: 'Allow', Principal: '*', Action: 's3:GetObject', Resource: pattern }]);
    const key = 'a'.repeat(1024);
    assert.equal(evaluate(request(ANONYMOUS, 's3:GetObject', key), { bucketPolicy: policy }).decision, 'implicit-deny');
    assert.equal(
      evaluate(request(ANONYMOUS, 's3:GetObject', `${'a'.repeat(2000)}b`), { bucketPolicy: policy }).decision,
      'allow',
    );
  });

  it('should not let a Deny with a variable the request lacks turn into an allow', () => {
    const policy = bucketPolicy([
      { Effect: 'Allow', Principal: '*', Action: 's3:GetObject', Resource: OBJECTS },
      {
        Effect: 'Deny',
        Principal: '*',
        Action: 's3:GetObject',
        Resource: OBJECTS,
        Condition: { StringNotEquals: { 's3:ExistingObjectTag/public': '${aws:username}' } },
      },
    ]);
    // Anonymous: no aws:username, so the value cannot match, the negated condition holds, and the Deny applies.
    const result = evaluate(request(ANONYMOUS, 's3:GetObject', 'k', { 's3:ExistingObjectTag/public': 'yes' }), {
      bucketPolicy: policy,
    });
    assert.equal(result.decision, 'deny');
  });

  it('should ignore context values of the wrong type instead of throwing', () => {
    const policy = bucketPolicy([
      {
        Effect: 'Allow',
        Principal: '*',
        Action: 's3:GetObject',
        Resource: OBJECTS,
        Condition: { StringEquals: { 'aws:SourceVpc': 'vpc-1' } },
      },
    ]);
    const keys = { 'aws:SourceVpc': { toString: () => 'vpc-1' } } as unknown as Record<string, string>;
    assert.equal(
      evaluate(request(ANONYMOUS, 's3:GetObject', 'k', keys), { bucketPolicy: policy }).decision,
      'implicit-deny',
    );
  });
});
