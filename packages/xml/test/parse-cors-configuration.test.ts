import assert from 'node:assert/strict';
import { describe, it } from 'node:test';

import { parseCorsConfiguration } from '../src/index.ts';
import { chunks, rejectsWith } from './helpers.ts';

describe('parseCorsConfiguration', () => {
  it('should parse rules as the SDKs send them, keeping every value in order', async () => {
    const xml = `<CORSConfiguration xmlns="http://s3.amazonaws.com/doc/2006-03-01/">
  <CORSRule><ID>web</ID><AllowedHeader>*</AllowedHeader><AllowedMethod>PUT</AllowedMethod><AllowedMethod>POST</AllowedMethod>
    <AllowedOrigin>https://*.example.com</AllowedOrigin><ExposeHeader>ETag</ExposeHeader><MaxAgeSeconds>3000</MaxAgeSeconds></CORSRule>
  <CORSRule><AllowedMethod>GET</AllowedMethod><AllowedOrigin>*</AllowedOrigin></CORSRule>
</CORSConfiguration>`;
    assert.deepEqual(await parseCorsConfiguration(chunks(xml, 7)), {
      rules: [
        {
          id: 'web',
          allowedMethods: ['PUT', 'POST'],
          allowedOrigins: ['https://*.example.com'],
          allowedHeaders: ['*'],
          exposeHeaders: ['ETag'],
          maxAgeSeconds: 3000,
        },
        { allowedMethods: ['GET'], allowedOrigins: ['*'], allowedHeaders: [], exposeHeaders: [] },
      ],
    });
  });

  it('should reject a configuration without rules, methods or origins, or with a bad MaxAgeSeconds, with XML_MALFORMED', async () => {
    const rule = (inner: string) => `<CORSConfiguration><CORSRule>${inner}</CORSRule></CORSConfiguration>`;
    for (const xml of [
      '<CORSConfiguration></CORSConfiguration>',
      rule('<AllowedOrigin>*</AllowedOrigin>'),
      rule('<AllowedMethod>GET</AllowedMethod>'),
      rule('<AllowedMethod>GET</AllowedMethod><AllowedOrigin>*</AllowedOrigin><MaxAgeSeconds>-1</MaxAgeSeconds>'),
      '<CORSRule><AllowedMethod>GET</AllowedMethod><AllowedOrigin>*</AllowedOrigin></CORSRule>',
    ])
      await rejectsWith(parseCorsConfiguration(chunks(xml)), 'XML_MALFORMED');
    await rejectsWith(parseCorsConfiguration(chunks('')), 'XML_EMPTY');
  });
});
