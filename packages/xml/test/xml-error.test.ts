import assert from 'node:assert/strict';
import { describe, it } from 'node:test';

import { XML_ERROR_MESSAGES, XmlError } from '../src/index.ts';

describe('XmlError', () => {
  it('should carry the code, the AWS message of the mapped S3 error, the reason, cause and details', () => {
    const cause = new Error('sax said no');
    const err = new XmlError('XML_MALFORMED', 'Unclosed root tag', { cause });
    assert.ok(err instanceof Error);
    assert.equal(err.name, 'XmlError');
    assert.equal(err.code, 'XML_MALFORMED');
    assert.equal(
      err.message,
      'The XML you provided was not well-formed or did not validate against our published schema',
    );
    assert.equal(err.reason, 'Unclosed root tag');
    assert.equal(err.cause, cause);
    assert.deepEqual(err.details, {});
  });

  it('should use the AWS message of each code', () => {
    assert.deepEqual(XML_ERROR_MESSAGES, {
      XML_MALFORMED: 'The XML you provided was not well-formed or did not validate against our published schema',
      XML_TOO_LARGE: 'Your request was too big.',
      XML_EMPTY: 'Request body is empty.',
    });
    assert.equal(new XmlError('XML_EMPTY', 'r').message, 'Request body is empty.');
    assert.equal(new XmlError('XML_TOO_LARGE', 'r').message, 'Your request was too big.');
    assert.ok(Object.isFrozen(XML_ERROR_MESSAGES));
  });
});
