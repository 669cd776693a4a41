import assert from 'node:assert/strict';
import { describe, it } from 'node:test';

import { parseCreateBucketConfiguration } from '../src/index.ts';
import { chunks, rejectsWith } from './helpers.ts';

describe('parseCreateBucketConfiguration', () => {
  it('should resolve undefined for an empty body', async () => {
    assert.equal(await parseCreateBucketConfiguration(chunks('')), undefined);
    assert.equal(await parseCreateBucketConfiguration(chunks(' \n')), undefined);
  });

  it('should read the LocationConstraint of boto3 and s3cmd', async () => {
    const boto3 =
      '<CreateBucketConfiguration xmlns="http://s3.amazonaws.com/doc/2006-03-01/"><LocationConstraint>eu-west-1</LocationConstraint></CreateBucketConfiguration>';
    assert.deepEqual(await parseCreateBucketConfiguration(chunks(boto3)), { locationConstraint: 'eu-west-1' });
    const s3cmd =
      '<CreateBucketConfiguration><LocationConstraint>us-west-2</LocationConstraint></CreateBucketConfiguration>';
    assert.deepEqual(await parseCreateBucketConfiguration(chunks(s3cmd, 1)), { locationConstraint: 'us-west-2' });
  });

  it('should return an empty configuration without or with an empty LocationConstraint', async () => {
    assert.deepEqual(await parseCreateBucketConfiguration(chunks('<CreateBucketConfiguration/>')), {});
    assert.deepEqual(
      await parseCreateBucketConfiguration(
        chunks('<CreateBucketConfiguration><LocationConstraint/></CreateBucketConfiguration>'),
      ),
      {},
    );
  });

  it('should ignore other elements', async () => {
    const xml =
      '<CreateBucketConfiguration><LocationConstraint> us-east-2 </LocationConstraint><Bucket><Type>Directory</Type></Bucket></CreateBucketConfiguration>';
    assert.deepEqual(await parseCreateBucketConfiguration(chunks(xml)), { locationConstraint: 'us-east-2' });
  });

  it('should reject a wrong root or bad XML with XML_MALFORMED', async () => {
    await rejectsWith(parseCreateBucketConfiguration(chunks('<Configuration/>')), 'XML_MALFORMED', /root/);
    await rejectsWith(parseCreateBucketConfiguration(chunks('<CreateBucketConfiguration>')), 'XML_MALFORMED');
    await rejectsWith(parseCreateBucketConfiguration(chunks('eu-west-1')), 'XML_MALFORMED');
    await rejectsWith(
      parseCreateBucketConfiguration(
        chunks(
          '<CreateBucketConfiguration><LocationConstraint>a</LocationConstraint><LocationConstraint>b</LocationConstraint></CreateBucketConfiguration>',
        ),
      ),
      'XML_MALFORMED',
    );
  });

  it('should reject a body over the cap with XML_TOO_LARGE', async () => {
    await rejectsWith(
      parseCreateBucketConfiguration(chunks(`<CreateBucketConfiguration>${' '.repeat(2000)}`), { maxBytes: 1000 }),
      'XML_TOO_LARGE',
    );
  });
});
