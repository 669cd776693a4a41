import assert from 'node:assert/strict';
import { describe, it } from 'node:test';

import { parseServerSideEncryptionConfiguration } from '../src/index.ts';
import { chunks, rejectsWith } from './helpers.ts';

const wrap = (rules: string): string =>
  `<ServerSideEncryptionConfiguration xmlns="http://s3.amazonaws.com/doc/2006-03-01/">${rules}</ServerSideEncryptionConfiguration>`;

describe('parseServerSideEncryptionConfiguration', () => {
  it('should parse an AES256 default as boto3 sends it', async () => {
    const xml = wrap(
      '<Rule><ApplyServerSideEncryptionByDefault><SSEAlgorithm>AES256</SSEAlgorithm></ApplyServerSideEncryptionByDefault></Rule>',
    );
    assert.deepEqual(await parseServerSideEncryptionConfiguration(chunks(xml)), {
      rules: [{ sseAlgorithm: 'AES256' }],
    });
  });

  it('should read KMSMasterKeyID, BucketKeyEnabled and BlockedEncryptionTypes', async () => {
    const xml = wrap(`
  <Rule>
    <ApplyServerSideEncryptionByDefault>
      <SSEAlgorithm>aws:kms</SSEAlgorithm>
      <KMSMasterKeyID>arn:aws:kms:us-east-1:1:key/abc</KMSMasterKeyID>
    </ApplyServerSideEncryptionByDefault>
    <BucketKeyEnabled>True</BucketKeyEnabled>
    <BlockedEncryptionTypes><EncryptionType>SSE-C</EncryptionType></BlockedEncryptionTypes>
  </Rule>`);
    assert.deepEqual(await parseServerSideEncryptionConfiguration(chunks(xml, 1)), {
      rules: [
        {
          sseAlgorithm: 'aws:kms',
          kmsMasterKeyId: 'arn:aws:kms:us-east-1:1:key/abc',
          bucketKeyEnabled: true,
          blockedEncryptionTypes: ['SSE-C'],
        },
      ],
    });
  });

  it('should keep every EncryptionType as sent (the caller checks the values)', async () => {
    const rule = (blocked: string): string =>
      wrap(
        `<Rule><ApplyServerSideEncryptionByDefault><SSEAlgorithm>AES256</SSEAlgorithm></ApplyServerSideEncryptionByDefault>${blocked}</Rule>`,
      );
    const parse = async (blocked: string) =>
      (await parseServerSideEncryptionConfiguration(chunks(rule(blocked)))).rules[0]!.blockedEncryptionTypes;
    assert.deepEqual(
      await parse('<BlockedEncryptionTypes><EncryptionType> NONE </EncryptionType></BlockedEncryptionTypes>'),
      ['NONE'],
    );
    assert.deepEqual(
      await parse(
        '<BlockedEncryptionTypes><EncryptionType>SSE-C</EncryptionType><EncryptionType>bogus</EncryptionType></BlockedEncryptionTypes>',
      ),
      ['SSE-C', 'bogus'],
    );
    assert.deepEqual(await parse('<BlockedEncryptionTypes></BlockedEncryptionTypes>'), []);
    assert.equal(await parse(''), undefined);
    await rejectsWith(
      parseServerSideEncryptionConfiguration(chunks(rule('<BlockedEncryptionTypes>SSE-C</BlockedEncryptionTypes>'))),
      'XML_MALFORMED',
    );
  });

  it('should keep several rules in order', async () => {
    const rule = (a: string, b: string): string =>
      `<Rule><ApplyServerSideEncryptionByDefault><SSEAlgorithm>${a}</SSEAlgorithm></ApplyServerSideEncryptionByDefault><BucketKeyEnabled>${b}</BucketKeyEnabled></Rule>`;
    assert.deepEqual(
      await parseServerSideEncryptionConfiguration(chunks(wrap(rule('AES256', 'false') + rule('aws:kms', 'true')))),
      {
        rules: [
          { sseAlgorithm: 'AES256', bucketKeyEnabled: false },
          { sseAlgorithm: 'aws:kms', bucketKeyEnabled: true },
        ],
      },
    );
  });

  it('should reject an empty body with XML_EMPTY', async () => {
    await rejectsWith(parseServerSideEncryptionConfiguration(chunks('')), 'XML_EMPTY');
  });

  it('should reject invalid shapes with XML_MALFORMED', async () => {
    const bad = [
      wrap(''),
      wrap('<Rule></Rule>'),
      wrap('<Rule><ApplyServerSideEncryptionByDefault></ApplyServerSideEncryptionByDefault></Rule>'),
      wrap(
        '<Rule><ApplyServerSideEncryptionByDefault><SSEAlgorithm> </SSEAlgorithm></ApplyServerSideEncryptionByDefault></Rule>',
      ),
      wrap(
        '<Rule><ApplyServerSideEncryptionByDefault><SSEAlgorithm>AES256</SSEAlgorithm></ApplyServerSideEncryptionByDefault><BucketKeyEnabled>maybe</BucketKeyEnabled></Rule>',
      ),
      '<EncryptionConfiguration><Rule/></EncryptionConfiguration>',
      '<ServerSideEncryptionConfiguration><Rule>',
    ];
    for (const xml of bad) await rejectsWith(parseServerSideEncryptionConfiguration(chunks(xml)), 'XML_MALFORMED');
  });
});
