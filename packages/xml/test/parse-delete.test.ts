import assert from 'node:assert/strict';
import { describe, it } from 'node:test';

import { MAX_DELETE_OBJECTS, parseDelete } from '../src/index.ts';
import { chunks, rejectsWith } from './helpers.ts';

const objects = (n: number): string =>
  Array.from({ length: n }, (_, i) => `<Object><Key>k${i}</Key></Object>`).join('');

describe('parseDelete', () => {
  it('should parse boto3 and the aws CLI (namespace, Quiet after the objects)', async () => {
    const xml =
      '<Delete xmlns="http://s3.amazonaws.com/doc/2006-03-01/"><Object><Key>a</Key></Object><Object><Key>dir/b c</Key><VersionId>v1</VersionId></Object><Quiet>true</Quiet></Delete>';
    assert.deepEqual(await parseDelete(chunks(xml)), {
      quiet: true,
      objects: [{ key: 'a' }, { key: 'dir/b c', versionId: 'v1' }],
    });
  });

  it('should parse s3cmd (declaration, no namespace, no Quiet, escaped keys)', async () => {
    const xml =
      '<?xml version="1.0" encoding="UTF-8"?><Delete><Object><Key>file1.txt</Key></Object><Object><Key>a&amp;b &lt;c&gt;.txt</Key></Object></Delete>';
    assert.deepEqual(await parseDelete(chunks(xml)), {
      quiet: false,
      objects: [{ key: 'file1.txt' }, { key: 'a&b <c>.txt' }],
    });
  });

  it('should parse the JS SDK (declaration, namespace, Quiet false)', async () => {
    const xml =
      '<?xml version="1.0" encoding="UTF-8"?><Delete xmlns="http://s3.amazonaws.com/doc/2006-03-01/"><Object><Key>x</Key></Object><Quiet>false</Quiet></Delete>';
    assert.deepEqual(await parseDelete(chunks(xml)), { quiet: false, objects: [{ key: 'x' }] });
  });

  it('should read Quiet case-insensitively', async () => {
    for (const [text, quiet] of [
      ['TRUE', true],
      ['True', true],
      [' true ', true],
      ['False', false],
      ['1', true],
      ['0', false],
    ] as const) {
      assert.equal((await parseDelete(chunks(`<Delete><Quiet>${text}</Quiet>${objects(1)}</Delete>`))).quiet, quiet);
    }
    await rejectsWith(
      parseDelete(chunks(`<Delete><Quiet>yes</Quiet>${objects(1)}</Delete>`)),
      'XML_MALFORMED',
      /Quiet/,
    );
  });

  it('should keep keys exactly: spaces, unicode, empty, split into 1-byte chunks', async () => {
    const keys = ['  lead and trail  ', 'ü/日本語/😀', '', 'tab\tnew\nline', "\"'quotes'"];
    const xml = `<Delete>${keys.map((k) => `<Object><Key>${k.replace(/&/g, '&amp;').replace(/</g, '&lt;')}</Key></Object>`).join('')}</Delete>`;
    const parsed = await parseDelete(chunks(xml, 1));
    assert.deepEqual(
      parsed.objects.map((o) => o.key),
      keys,
    );
  });

  it('should accept 1000 objects and reject 1001 or none with XML_MALFORMED', async () => {
    assert.equal(MAX_DELETE_OBJECTS, 1000);
    assert.equal((await parseDelete(chunks(`<Delete>${objects(1000)}</Delete>`))).objects.length, 1000);
    await rejectsWith(parseDelete(chunks(`<Delete>${objects(1001)}</Delete>`)), 'XML_MALFORMED', /1000/);
    await rejectsWith(parseDelete(chunks('<Delete><Quiet>true</Quiet></Delete>')), 'XML_MALFORMED');
    await rejectsWith(parseDelete(chunks('<Delete/>')), 'XML_MALFORMED');
  });

  it('should reject an empty body with XML_EMPTY', async () => {
    await rejectsWith(parseDelete(chunks('')), 'XML_EMPTY');
    await rejectsWith(parseDelete(chunks('   ')), 'XML_EMPTY');
  });

  it('should reject malformed bodies with XML_MALFORMED', async () => {
    const bad = [
      '<Delete><Object><Key>a</Key></Object>',
      '<Delete><Object><Key>a</Object></Delete>',
      'Delete me',
      '<Remove><Object><Key>a</Key></Object></Remove>',
      '<Delete><Object><VersionId>v</VersionId></Object></Delete>',
      '<Delete><Object><Key>a</Key><Key>b</Key></Object></Delete>',
      '<Delete><Object>a</Object></Delete>',
      '<Delete><Quiet>true</Quiet><Quiet>true</Quiet><Object><Key>a</Key></Object></Delete>',
      '<!DOCTYPE Delete [<!ENTITY k "a">]><Delete><Object><Key>&k;</Key></Object></Delete>',
    ];
    for (const xml of bad) await rejectsWith(parseDelete(chunks(xml)), 'XML_MALFORMED');
  });

  it('should reject a body over the cap with XML_TOO_LARGE', async () => {
    await rejectsWith(
      parseDelete(chunks(`<Delete>${objects(1000)}</Delete>`, 512), { maxBytes: 4096 }),
      'XML_TOO_LARGE',
    );
  });
});
