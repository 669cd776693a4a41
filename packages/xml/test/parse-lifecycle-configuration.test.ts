import assert from 'node:assert/strict';
import { describe, it } from 'node:test';

import { parseLifecycleConfiguration } from '../src/index.ts';
import { chunks, rejectsWith } from './helpers.ts';

describe('parseLifecycleConfiguration', () => {
  it('should read NoncurrentVersionExpiration and ExpiredObjectDeleteMarker as sent', async () => {
    const xml = `<LifecycleConfiguration><Rule><Status>Enabled</Status>
  <Expiration><ExpiredObjectDeleteMarker>true</ExpiredObjectDeleteMarker></Expiration>
  <NoncurrentVersionExpiration><NoncurrentDays> 3 </NoncurrentDays><NewerNoncurrentVersions>2</NewerNoncurrentVersions>
  </NoncurrentVersionExpiration></Rule></LifecycleConfiguration>`;
    assert.deepEqual(await parseLifecycleConfiguration(chunks(xml, 5)), {
      rules: [
        {
          status: 'Enabled',
          filter: { tags: [] },
          expiration: { expiredObjectDeleteMarker: 'true' },
          noncurrentExpiration: { noncurrentDays: '3', newerNoncurrentVersions: '2' },
          otherActions: [],
        },
      ],
    });
    const repeated =
      '<LifecycleConfiguration><Rule><Status>Enabled</Status><NoncurrentVersionExpiration><NoncurrentDays>1' +
      '</NoncurrentDays><NoncurrentDays>2</NoncurrentDays></NoncurrentVersionExpiration></Rule></LifecycleConfiguration>';
    await rejectsWith(parseLifecycleConfiguration(chunks(repeated)), 'XML_MALFORMED', /more than one/);
  });

  it('should read filters (Prefix, And with Tags and sizes, the older rule-level Prefix), actions and other actions', async () => {
    const xml = `<LifecycleConfiguration xmlns="http://s3.amazonaws.com/doc/2006-03-01/">
  <Rule><ID>logs</ID><Filter><Prefix>logs/</Prefix></Filter><Status>Enabled</Status><Expiration><Days>30</Days></Expiration></Rule>
  <Rule><Filter><And><Prefix>tmp/</Prefix><Tag><Key>temp</Key><Value>yes</Value></Tag><ObjectSizeGreaterThan>10</ObjectSizeGreaterThan></And></Filter>
    <Status>Disabled</Status><Expiration><Date>2030-01-01T00:00:00Z</Date></Expiration><Transition><Days>1</Days><StorageClass>GLACIER</StorageClass></Transition></Rule>
  <Rule><Prefix>old/</Prefix><Status>Enabled</Status><AbortIncompleteMultipartUpload><DaysAfterInitiation>7</DaysAfterInitiation></AbortIncompleteMultipartUpload></Rule>
</LifecycleConfiguration>`;
    assert.deepEqual(await parseLifecycleConfiguration(chunks(xml, 9)), {
      rules: [
        {
          id: 'logs',
          status: 'Enabled',
          filter: { prefix: 'logs/', tags: [] },
          expiration: { days: '30' },
          otherActions: [],
        },
        {
          status: 'Disabled',
          filter: { prefix: 'tmp/', tags: [{ key: 'temp', value: 'yes' }], sizeGreaterThan: '10' },
          expiration: { date: '2030-01-01T00:00:00Z' },
          otherActions: ['Transition'],
        },
        {
          status: 'Enabled',
          filter: { prefix: 'old/', tags: [] },
          legacyPrefix: true,
          abortIncompleteDays: '7',
          otherActions: [],
        },
      ],
    });
  });

  it('should reject a configuration without rules or a rule without Status with XML_MALFORMED', async () => {
    await rejectsWith(
      parseLifecycleConfiguration(chunks('<LifecycleConfiguration></LifecycleConfiguration>')),
      'XML_MALFORMED',
    );
    await rejectsWith(
      parseLifecycleConfiguration(chunks('<LifecycleConfiguration><Rule><ID>x</ID></Rule></LifecycleConfiguration>')),
      'XML_MALFORMED',
    );
  });

  it('should reject a rule with both the older rule-level Prefix and a Filter with XML_MALFORMED', async () => {
    const rule = '<Rule><Prefix>a/</Prefix><Filter><Prefix>b/</Prefix></Filter><Status>Enabled</Status></Rule>';
    await rejectsWith(
      parseLifecycleConfiguration(chunks(`<LifecycleConfiguration>${rule}</LifecycleConfiguration>`)),
      'XML_MALFORMED',
    );
  });
});
