import assert from 'node:assert/strict';
import { describe, it } from 'node:test';

import { ATTRS, buildXml, escapeXml, parseDelete, parseXml, S3_NAMESPACE } from '../src/index.ts';
import { chunks } from './helpers.ts';

const DECL = '<?xml version="1.0" encoding="UTF-8"?>\n';

describe('buildXml', () => {
  it('should write the declaration and the S3 namespace on the root by default', () => {
    assert.equal(S3_NAMESPACE, 'http://s3.amazonaws.com/doc/2006-03-01/');
    assert.equal(
      buildXml('CompleteMultipartUploadResult', { Location: 'http://h/b/k', Bucket: 'b', Key: 'k', ETag: '"abc-2"' }),
      `${DECL}<CompleteMultipartUploadResult xmlns="http://s3.amazonaws.com/doc/2006-03-01/"><Location>http://h/b/k</Location><Bucket>b</Bucket><Key>k</Key><ETag>&quot;abc-2&quot;</ETag></CompleteMultipartUploadResult>`,
    );
  });

  it('should leave out the namespace when asked, or use another', () => {
    assert.equal(
      buildXml('LocationConstraint', {}, { namespace: false }),
      `${DECL}<LocationConstraint></LocationConstraint>`,
    );
    assert.equal(buildXml('R', {}, { namespace: 'urn:x&y' }), `${DECL}<R xmlns="urn:x&amp;y"></R>`);
  });

  it('should map values: arrays repeat, Date ISO, booleans, numbers, null/undefined omitted, empty string kept', () => {
    const xml = buildXml('ListBucketResult', {
      Name: 'b',
      Prefix: '',
      KeyCount: 2,
      IsTruncated: false,
      NextContinuationToken: undefined,
      Delimiter: null,
      Contents: [
        { Key: 'a', LastModified: new Date(Date.UTC(2026, 10, 27, 7, 1, 2, 3)), Size: 0 },
        { Key: 'b', LastModified: new Date(0), Size: 12 },
      ],
      CommonPrefixes: [],
      Owner: { ID: 'o', DisplayName: 'me' },
    });
    assert.equal(
      xml,
      `${DECL}<ListBucketResult xmlns="${S3_NAMESPACE}"><Name>b</Name><Prefix></Prefix><KeyCount>2</KeyCount><IsTruncated>false</IsTruncated>` +
        '<Contents><Key>a</Key><LastModified>2026-11-27T07:01:02.003Z</LastModified><Size>0</Size></Contents>' +
        '<Contents><Key>b</Key><LastModified>1970-01-01T00:00:00.000Z</LastModified><Size>12</Size></Contents>' +
        '<Owner><ID>o</ID><DisplayName>me</DisplayName></Owner></ListBucketResult>',
    );
  });

  it('should write the attributes of $attrs on the element, escaped, and refuse bad ones', () => {
    const xml = buildXml(
      'AccessControlPolicy',
      {
        Grant: {
          Grantee: {
            [ATTRS]: { 'xmlns:xsi': 'http://www.w3.org/2001/XMLSchema-instance', 'xsi:type': 'Canonical"User' },
            ID: 'a',
          },
          Permission: 'FULL_CONTROL',
        },
      },
      { namespace: false },
    );
    assert.equal(
      xml,
      `${DECL}<AccessControlPolicy><Grant><Grantee xmlns:xsi="http://www.w3.org/2001/XMLSchema-instance" xsi:type="Canonical&quot;User"><ID>a</ID></Grantee><Permission>FULL_CONTROL</Permission></Grant></AccessControlPolicy>`,
    );
    assert.throws(() => buildXml('R', { X: { [ATTRS]: { 'bad name': 'v' } } }), TypeError);
    assert.throws(() => buildXml('R', { X: { [ATTRS]: { a: 1 } } }), TypeError);
  });

  it('should flatten nested arrays into repeated elements', () => {
    assert.equal(
      buildXml('R', { A: [['1', '2'], '3', null] }, { namespace: false }),
      `${DECL}<R><A>1</A><A>2</A><A>3</A></R>`,
    );
  });

  it('should escape markup characters and write forbidden characters as numeric references', () => {
    assert.equal(
      buildXml('R', { Key: `a&b<c>d"e'f\u0001g\u001fh\ri\tj\nk\uFFFEé😀` }, { namespace: false }),
      `${DECL}<R><Key>a&amp;b&lt;c&gt;d&quot;e&apos;f&#x1;g&#x1F;h&#xD;i\tj\nk&#xFFFE;é😀</Key></R>`,
    );
    assert.equal(escapeXml('<&>'), '&lt;&amp;&gt;');
  });

  it('should round-trip keys through parseDelete', async () => {
    const keys = [
      '<>&"\'',
      '  spaces around  ',
      'ü/日本語/😀/x',
      'tab\tline\nfeed\rreturn',
      '&amp; literal',
      ']]>',
      '%20+?#',
    ];
    const xml = buildXml('Delete', { Quiet: true, Object: keys.map((Key) => ({ Key })) });
    for (const size of [1, 7, 4096]) {
      const parsed = await parseDelete(chunks(xml, size));
      assert.equal(parsed.quiet, true);
      assert.deepEqual(
        parsed.objects.map((o) => o.key),
        keys,
      );
    }
  });

  it('should produce XML that parses back to the same tree', async () => {
    const root = await parseXml(chunks(buildXml('A', { B: { C: 'x' }, D: ['1', '2'] })));
    assert.equal(root?.attributes.xmlns, S3_NAMESPACE);
    assert.deepEqual(
      root?.children.map((c) => c.name),
      ['B', 'D', 'D'],
    );
    assert.equal(root?.children[0]?.children[0]?.text, 'x');
  });

  it('should throw TypeError for invalid names and unsupported values', () => {
    assert.throws(() => buildXml('1bad', {}), TypeError);
    assert.throws(() => buildXml('R', { 'a b': 'x' }), TypeError);
    assert.throws(() => buildXml('R', { '<x>': 'x' }), TypeError);
    assert.throws(() => buildXml('R', { N: Number.NaN }), TypeError);
    assert.throws(() => buildXml('R', { F: (() => 1) as unknown as string }), TypeError);
    assert.throws(() => buildXml('R', null as unknown as Record<string, string>), TypeError);
    assert.throws(() => buildXml('R', {}, { namespace: 1 as unknown as string }), TypeError);
  });
});
