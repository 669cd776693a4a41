import assert from 'node:assert/strict';
import { describe, it } from 'node:test';

import { unquoteEtag } from '../src/index.ts';

const ETAG = '9a0364b9e99bb480dd25e1f0284c8555';

describe('unquoteEtag', () => {
  it('should take an ETag quoted (the SDKs, the aws CLI) or bare (s3cmd), with the whitespace around it', () => {
    for (const text of [`"${ETAG}"`, ETAG, ` "${ETAG}"\t`, `\n  ${ETAG}\n`]) {
      assert.equal(unquoteEtag(text), ETAG, JSON.stringify(text));
    }
    assert.equal(unquoteEtag(`"${ETAG}-3"`), `${ETAG}-3`);
    assert.equal(unquoteEtag('*'), '*');
  });

  it('should remove only one pair of quotes, and keep an unbalanced quote', () => {
    assert.equal(unquoteEtag(`""${ETAG}""`), `"${ETAG}"`);
    assert.equal(unquoteEtag(`"${ETAG}`), `"${ETAG}`);
    assert.equal(unquoteEtag(`${ETAG}"`), `${ETAG}"`);
    assert.equal(unquoteEtag('"'), '"');
    assert.equal(unquoteEtag('""'), '');
  });

  it("should leave a weak tag's W/ and inner whitespace alone", () => {
    assert.equal(unquoteEtag(`W/"${ETAG}"`), `W/"${ETAG}"`);
    assert.equal(unquoteEtag(`" ${ETAG} "`), ` ${ETAG} `);
  });
});
