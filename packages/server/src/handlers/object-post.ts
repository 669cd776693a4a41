/**
 * POST Object: browser-based uploads with a signed POST policy (presigned POST: boto3 `generate_presigned_post`,
 * `@aws-sdk/s3-presigned-post`). The form's fields come first, then the `file` field; what follows the file is
 * ignored. The form is its own authentication: the policy's SigV4 signature, its expiry and conditions.
 * @see https://docs.aws.amazon.com/AmazonS3/latest/API/RESTObjectPOST.html
 * @see https://docs.aws.amazon.com/AmazonS3/latest/API/sigv4-HTTPPOSTConstructPolicy.html
 */
import type { IncomingHttpHeaders } from 'node:http';
import type { Readable } from 'node:stream';
import busboy from 'busboy';
import type { Context } from 'koa';
import { checkPostPolicy, missingPostFieldMessage, verifyPostForm } from '@coffer/sigv4';
import { buildXml } from '@coffer/xml';
import { verifyOptions } from '../auth.ts';
import { S3Error } from '../errors.ts';
import type { AppState, Services } from '../context.ts';
import { type BucketEndpoint, OPERATIONS } from '../operations.ts';
import { isFormBody } from '../router.ts';
import { authorizedTarget, writerOf } from '../access.ts';
import { newObjectAcl } from '../acl.ts';
import { writeEncryption } from '../encryption.ts';
import { LIMITS, checkKey, objectUrl, quoted, readMetadata, setEncryptionHeaders } from '../http.ts';
import { sendEmpty } from '../respond.ts';
import { readTagging } from '../tags.ts';
import { newObjectLock } from '../object-lock.ts';
import { setWrittenVersion } from '../versions.ts';

/** Bytes of the form's fields before the file that S3 takes (its limit is 20 KB; a policy can be long). */
const MAX_FIELD_BYTES = 64 * 1024;
const MAX_FIELDS = 256;

/** True for a request that is a browser upload: a form POSTed to a bucket, without SigV4 headers or query. */
export function isPostForm(method: string, headers: IncomingHttpHeaders, rawQuery: string): boolean {
  return (
    method === 'POST' &&
    isFormBody(headers) &&
    headers.authorization === undefined &&
    !/(^|&)x-amz-(signature|credential)=/i.test(rawQuery)
  );
}

interface Form {
  /** The fields before the file, by lower-cased name. */
  fields: Map<string, string>;
  /** The file's content; must be consumed. */
  file: Readable;
  /** The file part's filename (for `${filename}` in the key). */
  filename: string;
}

const oneFile = () =>
  new S3Error('InvalidArgument', {
    message: 'POST requires exactly one file upload per request.',
    extra: { ArgumentName: 'file', ArgumentValue: '0' },
  });
const tooLarge = () => new S3Error('MaxPostPreDataLengthExceededError');
const malformed = () => new S3Error('MalformedPOSTRequest');

/** Parses the form up to the start of the file. */
function readForm(ctx: Context): Promise<Form> {
  return new Promise((resolve, reject) => {
    let bb: busboy.Busboy;
    try {
      bb = busboy({
        headers: ctx.req.headers,
        defParamCharset: 'utf8',
        limits: {
          fieldNameSize: 1024,
          fieldSize: MAX_FIELD_BYTES,
          fields: MAX_FIELDS,
          files: 1,
          parts: MAX_FIELDS + 1,
        },
      });
    } catch {
      reject(malformed());
      return;
    }
    const fields = new Map<string, string>();
    let bytes = 0;
    let started = false;
    const fail = (err: S3Error) => {
      if (started) return;
      started = true;
      ctx.req.unpipe(bb);
      reject(err);
    };
    bb.on('field', (name, value, info) => {
      if (started) return; // fields after the file are ignored, as S3 does
      bytes += name.length + value.length;
      if (info.valueTruncated || info.nameTruncated || bytes > MAX_FIELD_BYTES) {
        fail(tooLarge());
        return;
      }
      fields.set(name.toLowerCase(), value);
    });
    bb.on('file', (name, stream, info) => {
      // A form cut short errors its file stream ("Unexpected end of form") whether or not anyone reads it any
      // more (the request may already have been refused): never an unhandled 'error'. A reader still sees it.
      stream.on('error', () => undefined);
      if (started || name.toLowerCase() !== 'file') {
        stream.resume();
        fail(oneFile());
        return;
      }
      started = true;
      resolve({ fields, file: stream, filename: info.filename ?? '' });
    });
    bb.on('fieldsLimit', () => fail(tooLarge()));
    bb.on('partsLimit', () => fail(tooLarge()));
    bb.on('error', () => fail(malformed()));
    bb.on('close', () => fail(oneFile()));
    ctx.req.pipe(bb);
  });
}

/** Where to send the browser: `success_action_redirect` (or the older `redirect`) when it is an absolute URL. */
function redirectUrl(fields: Map<string, string>): URL | undefined {
  const raw = fields.get('success_action_redirect') ?? fields.get('redirect');
  if (!raw) return undefined;
  try {
    return new URL(raw);
  } catch {
    return undefined;
  }
}

export async function postObject(ctx: Context, ep: BucketEndpoint, services: Services): Promise<void> {
  const form = await readForm(ctx);
  try {
    const { fields } = form;
    const rawKey = fields.get('key');
    if (rawKey === undefined)
      throw new S3Error('InvalidArgument', {
        message: missingPostFieldMessage('key'),
        extra: { ArgumentName: 'key', ArgumentValue: '' },
      });
    const key = rawKey.replaceAll('${filename}', form.filename);
    // A form without any signature field is an anonymous upload: the bucket's ACL (or a policy) decides it.
    const auth = await verifyPostForm(fields, verifyOptions(services)).catch((err: unknown) => {
      if ((err as { code?: unknown }).code === 'SIGV4_MISSING_AUTH') return undefined;
      throw err;
    });
    const state = ctx.state as AppState;
    if (auth) state.user = services.users.byAccessKey(auth.accessKeyId);
    state.form = fields;
    // The policy sees the key as stored and the bucket of the request (a form need not send a bucket field).
    const compared = new Map(fields).set('key', key).set('bucket', ep.bucket);
    const policy = fields.get('policy');
    const range = auth || policy ? checkPostPolicy(policy!, compared).contentLengthRange : undefined;
    const { bucket } = await authorizedTarget(ctx, services, OPERATIONS.PostObject.action, ep.bucket, key);
    checkKey(key);
    // The fields stand for the headers of a PUT (by lower-cased name): readMetadata, writeEncryption and the ACL
    // read the content headers, x-amz-meta-*, the SSE ones and `acl` among them and nothing else.
    const params: IncomingHttpHeaders = Object.fromEntries(fields);
    const { owner, acl } = newObjectAcl(bucket, writerOf(ctx), { 'x-amz-acl': fields.get('acl') }, services);
    const taggingXml = fields.get('tagging');
    const tags =
      taggingXml === undefined
        ? undefined
        : await readTagging(
            (async function* one() {
              yield taggingXml;
            })(),
            'Object',
          );
    const rec = await services.store.putObject(ep.bucket, key, form.file, {
      owner,
      metadata: {
        ...readMetadata(params),
        tags,
        lock: newObjectLock(bucket, (name) => fields.get(name)),
        acl,
      },
      encryption: writeEncryption(ctx, ep, services, bucket, params),
      maxSize: Math.min(range?.max ?? LIMITS.maxPutSize, LIMITS.maxPutSize),
      beforeCommit: ({ size }) => {
        if (range && size < range.min)
          throw new S3Error('EntityTooSmall', { extra: { ProposedSize: size, MinSizeAllowed: range.min } });
      },
    });
    const location = objectUrl(ctx, ep.bucket, key);
    ctx.set('ETag', quoted(rec.etag));
    ctx.set('Location', location);
    setEncryptionHeaders(ctx, rec);
    setWrittenVersion(ctx, bucket, rec);
    const redirect = redirectUrl(fields);
    if (redirect) {
      for (const [k, v] of [
        ['bucket', ep.bucket],
        ['key', key],
        ['etag', quoted(rec.etag)],
      ])
        redirect.searchParams.append(k!, v!);
      ctx.set('Location', redirect.href);
      sendEmpty(ctx, 303);
      return;
    }
    const status = fields.get('success_action_status');
    if (status === '201') {
      ctx.status = 201;
      ctx.type = 'application/xml';
      ctx.body = buildXml('PostResponse', { Location: location, Bucket: ep.bucket, Key: key, ETag: quoted(rec.etag) });
      return;
    }
    sendEmpty(ctx, status === '200' ? 200 : 204);
  } catch (err) {
    form.file.resume(); // let the rest of the form go by, so the error can be sent
    throw err;
  }
}
