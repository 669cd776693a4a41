import assert from 'node:assert/strict';
import { describe, it } from 'node:test';

import { parseLegalHold, parseObjectLockConfiguration, parseRetention } from '../src/index.ts';
import { chunks, rejectsWith } from './helpers.ts';

describe('parseObjectLockConfiguration', () => {
  it('should read ObjectLockEnabled and the default retention as sent, trimmed', async () => {
    const xml =
      '<ObjectLockConfiguration xmlns="http://s3.amazonaws.com/doc/2006-03-01/"><ObjectLockEnabled> Enabled ' +
      '</ObjectLockEnabled><Rule><DefaultRetention><Mode>GOVERNANCE</Mode><Days>3</Days></DefaultRetention></Rule>' +
      '</ObjectLockConfiguration>';
    assert.deepEqual(await parseObjectLockConfiguration(chunks(xml, 1)), {
      enabled: 'Enabled',
      defaultRetention: { mode: 'GOVERNANCE', days: '3' },
    });
    const bare = '<ObjectLockConfiguration><ObjectLockEnabled>Enabled</ObjectLockEnabled></ObjectLockConfiguration>';
    assert.deepEqual(await parseObjectLockConfiguration(chunks(bare)), { enabled: 'Enabled' });
    const both = '<ObjectLockConfiguration><Rule><DefaultRetention><Years>1</Years><Days>2</Days></DefaultRetention>';
    assert.deepEqual(await parseObjectLockConfiguration(chunks(`${both}</Rule></ObjectLockConfiguration>`)), {
      defaultRetention: { days: '2', years: '1' },
    });
  });

  it('should reject an empty body, a wrong root, a Rule without DefaultRetention and a repeated Mode', async () => {
    await rejectsWith(parseObjectLockConfiguration(chunks('')), 'XML_EMPTY');
    await rejectsWith(parseObjectLockConfiguration(chunks('<LockConfiguration/>')), 'XML_MALFORMED', /root/);
    await rejectsWith(
      parseObjectLockConfiguration(chunks('<ObjectLockConfiguration><Rule/></ObjectLockConfiguration>')),
      'XML_MALFORMED',
      /DefaultRetention/,
    );
    const twice = '<Rule><DefaultRetention><Mode>GOVERNANCE</Mode><Mode>COMPLIANCE</Mode></DefaultRetention></Rule>';
    await rejectsWith(
      parseObjectLockConfiguration(chunks(`<ObjectLockConfiguration>${twice}</ObjectLockConfiguration>`)),
      'XML_MALFORMED',
      /more than one/,
    );
  });
});

describe('parseRetention', () => {
  it('should read Mode and RetainUntilDate as sent', async () => {
    const xml = '<Retention><Mode>COMPLIANCE</Mode><RetainUntilDate>2030-01-01T00:00:00Z</RetainUntilDate></Retention>';
    assert.deepEqual(await parseRetention(chunks(xml, 3)), {
      mode: 'COMPLIANCE',
      retainUntilDate: '2030-01-01T00:00:00Z',
    });
    assert.deepEqual(await parseRetention(chunks('<Retention/>')), {});
  });

  it('should reject a wrong root and a Mode with elements', async () => {
    await rejectsWith(parseRetention(chunks('<LegalHold/>')), 'XML_MALFORMED', /root/);
    await rejectsWith(parseRetention(chunks('<Retention><Mode><a/></Mode></Retention>')), 'XML_MALFORMED');
  });
});

describe('parseLegalHold', () => {
  it('should read Status as sent', async () => {
    assert.deepEqual(await parseLegalHold(chunks('<LegalHold><Status>ON</Status></LegalHold>')), { status: 'ON' });
    assert.deepEqual(await parseLegalHold(chunks('<LegalHold></LegalHold>')), {});
  });

  it('should reject an empty body and a wrong root', async () => {
    await rejectsWith(parseLegalHold(chunks('')), 'XML_EMPTY');
    await rejectsWith(parseLegalHold(chunks('<Retention/>')), 'XML_MALFORMED', /root/);
  });
});
