/**
 * Browser-based uploads (S3 POST Object): the SigV4 signature of a form's POST policy, and the policy itself.
 * The form's fields are given by lower-cased name (S3 matches field names case-insensitively).
 * @see https://docs.aws.amazon.com/AmazonS3/latest/API/sigv4-HTTPPOSTConstructPolicy.html
 * @see https://docs.aws.amazon.com/AmazonS3/latest/API/sigv4-authentication-HTTPPOST.html
 */
import { ALGORITHM, SERVICE, deriveSigningKey, parseAmzDate, sign } from './canonical.ts';
import { MESSAGES, SigV4Error, wrongRegionMessage } from './errors.ts';
import type { VerifyOptions } from './types.ts';
import { SIGV2_ALGORITHM, signV2, signaturesEqualV2 } from './v2.ts';
import { parseCredential, resolveOptions, signaturesEqual, type ResolvedOptions } from './verify.ts';

/** What a verified POST form proved. */
export interface PostAuth {
  /** The access key id that signed the policy. */
  accessKeyId: string;
  /** `AWS4-HMAC-SHA256`, or `AWS` for a SigV2 form. */
  signatureVersion: 'AWS' | 'AWS4-HMAC-SHA256';
  /** `x-amz-date` of the form; `''` for SigV2. */
  amzDate: string;
  /** Credential scope, `YYYYMMDD/region/s3/aws4_request`; `''` for SigV2. */
  scope: string;
}

/** S3's message for a form field that is missing (or came after the file). */
export function missingPostFieldMessage(name: string): string {
  return `Bucket POST must contain a field named '${name}'.  If it is specified, please check the order of the fields.`;
}

/** The field `name` (lower-case); S3 names it `shown` when it is missing. */
function required(fields: ReadonlyMap<string, string>, name: string, shown = name): string {
  const v = fields.get(name);
  if (v === undefined) {
    const details = { ArgumentName: shown, ArgumentValue: '' };
    throw new SigV4Error('SIGV4_POST_MISSING_FIELD', missingPostFieldMessage(shown), details);
  }
  return v;
}

/** A form signed with SigV2: no `x-amz-algorithm`, and `AWSAccessKeyId` or `signature`. */
function isSigV2Form(fields: ReadonlyMap<string, string>): boolean {
  return !fields.has('x-amz-algorithm') && (fields.has('awsaccesskeyid') || fields.has('signature'));
}

/**
 * The SigV2 signature of a POST form: `signature` must be the base64 HMAC-SHA1 of the `policy` field (its base64
 * text) under the secret key of `AWSAccessKeyId`, compared in constant time.
 * @see https://docs.aws.amazon.com/AmazonS3/latest/userguide/HTTPPOSTForms.html
 */
async function verifyV2PostForm(fields: ReadonlyMap<string, string>, o: ResolvedOptions): Promise<PostAuth> {
  const accessKeyId = required(fields, 'awsaccesskeyid', 'AWSAccessKeyId');
  const signature = required(fields, 'signature', 'Signature');
  const policy = required(fields, 'policy', 'Policy');
  const secret = await o.getSecretKey(accessKeyId);
  if (secret === undefined) {
    throw new SigV4Error('SIGV4_UNKNOWN_ACCESS_KEY', MESSAGES.unknownAccessKey, { AWSAccessKeyId: accessKeyId });
  }
  if (!signaturesEqualV2(signV2(secret, policy), signature)) {
    // Not the policy as StringToSign: its conditions may hold an SSE-C key, which no error may carry.
    throw new SigV4Error('SIGV4_SIGNATURE_MISMATCH', MESSAGES.signatureMismatch, {
      AWSAccessKeyId: accessKeyId,
      SignatureProvided: signature,
    });
  }
  return { accessKeyId, signatureVersion: SIGV2_ALGORITHM, amzDate: '', scope: '' };
}

/**
 * Verifies the SigV4 signature of a POST form: `x-amz-signature` must be the hex HMAC-SHA256 of the `policy`
 * field (its base64 text, as sent) under the signing key of `x-amz-credential`. A form without any signature
 * field is anonymous (SIGV4_MISSING_AUTH); a SigV2 form (`AWSAccessKeyId`, `signature`) is verified as such with
 * `opts.sigV2`, and is SIGV4_UNSUPPORTED_ALGORITHM without it.
 * Time and expiry are the policy's (`checkPostPolicy`), not `x-amz-date`'s.
 */
export async function verifyPostForm(fields: ReadonlyMap<string, string>, opts: VerifyOptions): Promise<PostAuth> {
  const o = resolveOptions(opts);
  const algorithm = fields.get('x-amz-algorithm');
  if (algorithm === undefined) {
    if (isSigV2Form(fields)) {
      if (o.sigV2) return verifyV2PostForm(fields, o);
      throw new SigV4Error('SIGV4_UNSUPPORTED_ALGORITHM', MESSAGES.unsupportedAlgorithm);
    }
    if (!fields.has('x-amz-signature') && !fields.has('x-amz-credential'))
      throw new SigV4Error('SIGV4_MISSING_AUTH', MESSAGES.accessDenied);
    required(fields, 'x-amz-algorithm');
  }
  if (algorithm !== ALGORITHM) throw new SigV4Error('SIGV4_UNSUPPORTED_ALGORITHM', MESSAGES.unsupportedAlgorithm);
  const credential = parseCredential(required(fields, 'x-amz-credential'));
  if (!credential || credential.service !== SERVICE)
    throw new SigV4Error('SIGV4_POST_MISSING_FIELD', MESSAGES.queryCredential, { ArgumentName: 'x-amz-credential' });
  if (credential.region !== o.region) {
    throw new SigV4Error('SIGV4_MALFORMED_AUTH', wrongRegionMessage(credential.region, o.region), { Region: o.region });
  }
  const amzDate = required(fields, 'x-amz-date');
  if (Number.isNaN(parseAmzDate(amzDate)) || amzDate.slice(0, 8) !== credential.date) {
    throw new SigV4Error(
      'SIGV4_POST_MISSING_FIELD',
      MESSAGES.queryCredentialDate.replace('{date}', credential.date).replace('{amzDate}', amzDate),
      { ArgumentName: 'x-amz-date' },
    );
  }
  const signature = required(fields, 'x-amz-signature');
  const policy = required(fields, 'policy');
  const secret = await o.getSecretKey(credential.accessKeyId);
  if (secret === undefined) {
    throw new SigV4Error('SIGV4_UNKNOWN_ACCESS_KEY', MESSAGES.unknownAccessKey, {
      AWSAccessKeyId: credential.accessKeyId,
    });
  }
  const expected = sign(deriveSigningKey(secret, credential.date, credential.region), policy);
  if (!signaturesEqual(expected, signature)) {
    // Not the policy as StringToSign: its conditions may hold an SSE-C key, which no error may carry.
    throw new SigV4Error('SIGV4_SIGNATURE_MISMATCH', MESSAGES.signatureMismatch, {
      AWSAccessKeyId: credential.accessKeyId,
      SignatureProvided: signature,
    });
  }
  const scope = `${credential.date}/${credential.region}/${SERVICE}/aws4_request`;
  return { accessKeyId: credential.accessKeyId, signatureVersion: ALGORITHM, amzDate, scope };
}

/** What a POST policy allows beyond the fields: the file's size range, when it sets one. */
export interface PostPolicyResult {
  contentLengthRange?: { min: number; max: number };
}

/**
 * Fields the policy need not mention (S3: "except x-amz-signature, file, policy, and x-ignore-*"; for a SigV2 form
 * "except AWSAccessKeyId, signature, file, policy, and x-ignore-*").
 */
function exempt(name: string, sigV2: boolean): boolean {
  if (sigV2 && (name === 'awsaccesskeyid' || name === 'signature')) return true;
  return name === 'policy' || name === 'x-amz-signature' || name === 'file' || name.startsWith('x-ignore-');
}

const invalid = (why: string): SigV4Error => new SigV4Error('SIGV4_POST_POLICY_INVALID', `Invalid Policy: ${why}`);
const denied = (why: string): SigV4Error =>
  new SigV4Error('SIGV4_POST_POLICY_DENIED', `Invalid according to Policy: ${why}`);

/** A field whose value is a secret (the SSE-C key): never written back into an error. */
const SECRET_FIELD = 'x-amz-server-side-encryption-customer-key';

/** S3 writes a failed condition back as `["eq", "$key", "value"]` (a secret value as `*****`). */
function conditionText(op: string, field: string, value: string): string {
  const shown = field.toLowerCase() === SECRET_FIELD ? '*****' : value;
  return `[${[op, `$${field}`, shown].map((s) => JSON.stringify(s)).join(', ')}]`;
}

/**
 * Checks a POST policy (the base64 `policy` field) against the form: not expired at `now`, every condition met,
 * and every field (but the exempt ones) named by some condition. `fields` must hold what S3 compares: the form's
 * fields by lower-cased name, `bucket` set to the bucket of the request, and `key` with `${filename}` already
 * replaced. `content-length-range` is returned for the caller to enforce on the file.
 * @throws SigV4Error SIGV4_POST_POLICY_INVALID (not a policy document), SIGV4_POST_POLICY_DENIED (expired, a
 *   condition failed, a field no condition covers)
 */
export function checkPostPolicy(
  policyBase64: string,
  fields: ReadonlyMap<string, string>,
  now: number = Date.now(),
): PostPolicyResult {
  let doc: unknown;
  try {
    doc = JSON.parse(Buffer.from(policyBase64, 'base64').toString('utf8'));
  } catch {
    throw invalid('Invalid JSON.');
  }
  if (doc === null || typeof doc !== 'object' || Array.isArray(doc)) throw invalid('Invalid JSON.');
  const { expiration, conditions } = doc as { expiration?: unknown; conditions?: unknown };
  if (typeof expiration !== 'string') throw invalid('Policy missing expiration.');
  const expires = Date.parse(expiration);
  if (Number.isNaN(expires)) throw invalid(`Invalid 'expiration' value: '${expiration}'`);
  if (!Array.isArray(conditions)) throw invalid('Policy missing conditions.');
  if (expires <= now) throw denied('Policy expired.');

  const covered = new Set<string>();
  const result: PostPolicyResult = {};
  const check = (op: string, rawField: unknown, value: unknown): void => {
    if (typeof rawField !== 'string' || typeof value !== 'string')
      throw invalid(`Invalid Condition: ${JSON.stringify([op, rawField, value])}`);
    const field = (rawField.startsWith('$') ? rawField.slice(1) : rawField).toLowerCase();
    covered.add(field);
    const actual = fields.get(field) ?? '';
    // A Content-Type may list several types: each one must pass.
    const values = field === 'content-type' && op === 'starts-with' ? actual.split(',').map((s) => s.trim()) : [actual];
    const ok = op === 'eq' ? actual === value : values.every((v) => v.startsWith(value));
    if (!ok)
      throw denied(
        `Policy Condition failed: ${conditionText(op, rawField.startsWith('$') ? rawField.slice(1) : rawField, value)}`,
      );
  };
  for (const c of conditions) {
    if (Array.isArray(c)) {
      const op = typeof c[0] === 'string' ? c[0].toLowerCase() : '';
      if (op === 'content-length-range') {
        const [, min, max] = c as unknown[];
        if (
          c.length !== 3 ||
          !Number.isSafeInteger(min) ||
          !Number.isSafeInteger(max) ||
          (min as number) < 0 ||
          (min as number) > (max as number)
        ) {
          throw invalid(`Invalid content-length-range: ${JSON.stringify(c)}`);
        }
        result.contentLengthRange = { min: min as number, max: max as number };
      } else if ((op === 'eq' || op === 'starts-with') && c.length === 3) {
        check(op, c[1], c[2]);
      } else {
        throw invalid(`Invalid Condition: ${JSON.stringify(c)}`);
      }
    } else if (c !== null && typeof c === 'object' && Object.keys(c).length === 1) {
      const [[field, value]] = Object.entries(c as Record<string, unknown>) as [[string, unknown]];
      check('eq', `$${field}`, value);
    } else {
      throw invalid(`Invalid Condition: ${JSON.stringify(c)}`);
    }
  }
  const sigV2 = isSigV2Form(fields);
  for (const name of fields.keys()) {
    if (!exempt(name, sigV2) && !covered.has(name)) throw denied(`Extra input fields: ${name}`);
  }
  return result;
}
