/**
 * Request-parameter parsing the handlers share: S3's integer parameters, `encoding-type` and the
 * `x-amz-copy-source` header.
 */
import { S3Error } from './errors.ts';
import { checkVersionId } from './versions.ts';

/** An integer from 0 to 2147483647, as S3 takes its counts and markers; InvalidArgument naming `name` otherwise. */
export function integerValue(raw: string, name: string): number {
  if (!/^\d+$/.test(raw) || Number(raw) > 2147483647) {
    throw new S3Error('InvalidArgument', {
      message: `Provided ${name} not an integer or within integer range`,
      extra: { ArgumentName: name, ArgumentValue: raw },
    });
  }
  return Number(raw);
}

/** An integer query parameter (`max-keys`, `max-parts`, `max-uploads`, markers); `fallback` when absent or empty. */
export function integerParam(q: Map<string, string>, name: string, fallback: number): number {
  const raw = q.get(name);
  return raw === undefined || raw === '' ? fallback : integerValue(raw, name);
}

/** `encoding-type=url` percent-encodes keys and prefixes in the answer; any other value is refused. */
export function encoder(q: Map<string, string>): (s: string) => string {
  const type = q.get('encoding-type');
  if (type === undefined) return (s) => s;
  if (type !== 'url') {
    throw new S3Error('InvalidArgument', {
      message: 'Invalid Encoding Method specified in Request',
      extra: { ArgumentName: 'encoding-type', ArgumentValue: type },
    });
  }
  return (s) => encodeURIComponent(s).replace(/%2F/g, '/');
}

/**
 * Parses `x-amz-copy-source` (CopyObject, UploadPartCopy): `[/]bucket/key[?versionId=…]`, URL-encoded. The version
 * id is checked as a request's `versionId` is (`InvalidArgument`).
 * @see https://docs.aws.amazon.com/AmazonS3/latest/API/API_CopyObject.html
 */
export function parseCopySource(raw: string): { bucket: string; key: string; versionId?: string } {
  const invalid = () =>
    new S3Error('InvalidArgument', {
      message: 'Invalid copy source object key',
      extra: { ArgumentName: 'x-amz-copy-source', ArgumentValue: raw },
    });
  let path = raw.startsWith('/') ? raw.slice(1) : raw;
  const q = path.indexOf('?');
  let versionId: string | undefined;
  if (q >= 0) {
    versionId = checkVersionId(new URLSearchParams(path.slice(q + 1)).get('versionId') ?? undefined);
    path = path.slice(0, q);
  }
  const slash = path.indexOf('/');
  if (slash <= 0 || slash === path.length - 1) throw invalid();
  let bucket: string;
  let key: string;
  try {
    bucket = decodeURIComponent(path.slice(0, slash));
    key = decodeURIComponent(path.slice(slash + 1));
  } catch {
    throw invalid();
  }
  return versionId === undefined ? { bucket, key } : { bucket, key, versionId };
}
