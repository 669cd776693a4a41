import { describe, it } from 'node:test';
import assert from 'node:assert/strict';
import { generateKeyPair } from '../src/users.ts';

describe('generateKeyPair', () => {
  it('should make AWS-shaped keys: a 20-character access key ID and a 40-character secret, different each time', () => {
    const a = generateKeyPair();
    const b = generateKeyPair();
    assert.match(a.accessKey, /^CF[A-Z2-7]{18}$/);
    assert.match(a.secretKey, /^[A-Za-z0-9x]{40}$/);
    assert.notEqual(a.accessKey, b.accessKey);
    assert.notEqual(a.secretKey, b.secretKey);
  });
});
