import assert from 'node:assert/strict';
import { describe, it } from 'node:test';

import { parseVersioningConfiguration } from '../src/index.ts';
import { chunks, rejectsWith } from './helpers.ts';

describe('parseVersioningConfiguration', () => {
  it('should read Status and MfaDelete as sent, trimmed', async () => {
    const xml =
      '<VersioningConfiguration xmlns="http://s3.amazonaws.com/doc/2006-03-01/"><Status> Enabled </Status>' +
      '<MfaDelete>Disabled</MfaDelete></VersioningConfiguration>';
    assert.deepEqual(await parseVersioningConfiguration(chunks(xml, 1)), { status: 'Enabled', mfaDelete: 'Disabled' });
  });

  it('should leave out the elements that are missing, and keep a value it does not know', async () => {
    assert.deepEqual(await parseVersioningConfiguration(chunks('<VersioningConfiguration/>')), {});
    const xml = '<VersioningConfiguration><Status>On</Status></VersioningConfiguration>';
    assert.deepEqual(await parseVersioningConfiguration(chunks(xml)), { status: 'On' });
  });

  it('should reject an empty body with XML_EMPTY', async () => {
    await rejectsWith(parseVersioningConfiguration(chunks('')), 'XML_EMPTY');
  });

  it('should reject a wrong root, a repeated Status or Status with elements with XML_MALFORMED', async () => {
    await rejectsWith(parseVersioningConfiguration(chunks('<Versioning/>')), 'XML_MALFORMED', /root/);
    await rejectsWith(
      parseVersioningConfiguration(
        chunks('<VersioningConfiguration><Status>Enabled</Status><Status>Enabled</Status></VersioningConfiguration>'),
      ),
      'XML_MALFORMED',
      /more than one/,
    );
    await rejectsWith(
      parseVersioningConfiguration(chunks('<VersioningConfiguration><Status><a/></Status></VersioningConfiguration>')),
      'XML_MALFORMED',
    );
  });
});
