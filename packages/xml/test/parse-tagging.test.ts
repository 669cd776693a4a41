import assert from 'node:assert/strict';
import { describe, it } from 'node:test';

import { parseTagging } from '../src/index.ts';
import { chunks, rejectsWith } from './helpers.ts';

describe('parseTagging', () => {
  it('should keep the tags in order with their values as sent (spaces included, empty allowed)', async () => {
    const xml =
      '<Tagging xmlns="http://s3.amazonaws.com/doc/2006-03-01/"><TagSet><Tag><Key>project</Key><Value>blue sky </Value></Tag>' +
      '<Tag><Key>empty</Key><Value></Value></Tag></TagSet></Tagging>';
    assert.deepEqual(await parseTagging(chunks(xml, 5)), {
      tags: [
        { key: 'project', value: 'blue sky ' },
        { key: 'empty', value: '' },
      ],
    });
    assert.deepEqual(await parseTagging(chunks('<Tagging><TagSet></TagSet></Tagging>')), { tags: [] });
  });

  it('should reject a missing TagSet, Key or Value with XML_MALFORMED', async () => {
    for (const xml of [
      '<Tagging></Tagging>',
      '<Tagging><TagSet><Tag><Key>k</Key></Tag></TagSet></Tagging>',
      '<Tagging><TagSet><Tag><Value>v</Value></Tag></TagSet></Tagging>',
      '<TagSet></TagSet>',
    ]) {
      await rejectsWith(parseTagging(chunks(xml)), 'XML_MALFORMED');
    }
  });
});
