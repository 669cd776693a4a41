/** The S3 XML namespace, put on the root of every response except `<Error>`. */
export const S3_NAMESPACE = 'http://s3.amazonaws.com/doc/2006-03-01/';

/** The declaration AWS starts every body with (followed by a newline, as AWS sends it). */
export const XML_DECLARATION = '<?xml version="1.0" encoding="UTF-8"?>';

/** A value of {@link XmlNode}: arrays are repeated elements, Date → ISO 8601 with ms, null/undefined omitted. */
export type XmlValue = string | number | boolean | Date | null | undefined | XmlNode | XmlValue[];

/**
 * Element content: each key (in insertion order) becomes a child element, but {@link ATTRS}, whose string values
 * become the element's attributes (`xsi:type` of an ACL grantee).
 */
export interface XmlNode {
  [name: string]: XmlValue;
}

/** The key of an {@link XmlNode} that holds its element's attributes (not an element name, so never one). */
export const ATTRS = '$attrs';

// Attribute names: element names, plus one namespace prefix.
const ATTR_NAME = /^[A-Za-z_][A-Za-z0-9._-]*(:[A-Za-z_][A-Za-z0-9._-]*)?$/;

/** Options of {@link buildXml}. */
export interface BuildOptions {
  /** `xmlns` of the root element; `false` (or '') for none. Default {@link S3_NAMESPACE}. */
  namespace?: string | false;
}

// XML 1.0 Name, restricted to what S3 documents use (ASCII; no ':' since we write no prefixes).
const NAME = /^[A-Za-z_][A-Za-z0-9._-]*$/;

const ESCAPES: Readonly<Record<string, string>> = Object.freeze({
  '&': '&amp;',
  '<': '&lt;',
  '>': '&gt;',
  '"': '&quot;',
  "'": '&apos;',
});

// The five markup characters, CR (a literal one would come back as LF), and every code unit that XML 1.0 does
// not allow as a character (C0 controls but TAB/LF, U+FFFE, U+FFFF); the latter become numeric references,
// as AWS writes them (ListObjects of a key with a control character).
const TEXT_SPECIAL = /[&<>"'\r\u0000-\u0008\u000B\u000C\u000E-\u001F\uFFFE\uFFFF]/g;
const ATTR_SPECIAL = /[&<>"'\t\n\r\u0000-\u0008\u000B\u000C\u000E-\u001F\uFFFE\uFFFF]/g;

function escapeChar(ch: string): string {
  return ESCAPES[ch] ?? `&#x${ch.charCodeAt(0).toString(16).toUpperCase()};`;
}

/** Escapes text for element content: `& < > " '` as entities, CR and characters XML 1.0 forbids as `&#xN;`. */
export function escapeXml(text: string): string {
  return text.replace(TEXT_SPECIAL, escapeChar);
}

function escapeAttr(text: string): string {
  return text.replace(ATTR_SPECIAL, escapeChar);
}

function checkName(name: string): void {
  if (!NAME.test(name)) throw new TypeError(`invalid XML element name: ${JSON.stringify(name)}`);
}

function writeElement(out: string[], name: string, value: XmlValue): void {
  if (value === null || value === undefined) return;
  if (Array.isArray(value)) {
    for (const item of value) writeElement(out, name, item);
    return;
  }
  checkName(name);
  out.push('<', name);
  const attrs = value !== null && typeof value === 'object' && !(value instanceof Date) ? value[ATTRS] : undefined;
  if (attrs !== undefined) {
    if (attrs === null || typeof attrs !== 'object' || Array.isArray(attrs) || attrs instanceof Date)
      throw new TypeError(`<${name}> has attributes that are not an object`);
    for (const [a, v] of Object.entries(attrs)) {
      if (!ATTR_NAME.test(a) || typeof v !== 'string')
        throw new TypeError(`<${name}> has an invalid attribute ${JSON.stringify(a)}`);
      out.push(' ', a, '="', escapeAttr(v), '"');
    }
  }
  out.push('>');
  writeContent(out, name, value);
  out.push('</', name, '>');
}

function writeContent(out: string[], name: string, value: XmlValue): void {
  if (typeof value === 'string') out.push(escapeXml(value));
  else if (typeof value === 'number') {
    if (!Number.isFinite(value)) throw new TypeError(`<${name}> is not a finite number`);
    out.push(String(value));
  } else if (typeof value === 'boolean') out.push(value ? 'true' : 'false');
  else if (value instanceof Date) out.push(value.toISOString());
  else if (value !== null && typeof value === 'object' && !Array.isArray(value)) {
    for (const [child, v] of Object.entries(value)) if (child !== ATTRS) writeElement(out, child, v);
  } else throw new TypeError(`<${name}> has a value of unsupported type ${typeof value}`);
}

/**
 * Serialises an S3 response body: declaration, newline, then `<root xmlns="…">body</root>` with no other
 * whitespace. Keys become elements in insertion order, arrays repeated elements, Date `toISOString()`,
 * booleans `true`/`false`, null/undefined nothing, '' an empty element (`<X></X>`).
 * @throws TypeError for an invalid element name or a value of an unsupported type (NaN, a function, …)
 * @example buildXml('CompleteMultipartUploadResult', { Bucket: 'b', Key: 'k', ETag: '"…-2"' })
 */
export function buildXml(root: string, body: XmlNode, opts: BuildOptions = {}): string {
  checkName(root);
  if (body === null || typeof body !== 'object' || Array.isArray(body) || body instanceof Date) {
    throw new TypeError('body must be an object');
  }
  const namespace = opts.namespace === undefined ? S3_NAMESPACE : opts.namespace;
  if (namespace !== false && typeof namespace !== 'string')
    throw new TypeError('options.namespace must be a string or false');
  const out: string[] = [XML_DECLARATION, '\n', '<', root];
  if (namespace) out.push(' xmlns="', escapeAttr(namespace), '"');
  out.push('>');
  writeContent(out, root, body);
  out.push('</', root, '>');
  return out.join('');
}

/** Input of {@link errorXml}. */
export interface ErrorDocument {
  /** S3 error code (`NoSuchKey`). */
  code: string;
  /** Message (`The specified key does not exist.`). */
  message: string;
  /** `<Resource>` (the bucket or key path); omitted when undefined. */
  resource?: string;
  /** `<RequestId>`, the same value as the `x-amz-request-id` header. */
  requestId: string;
  /** `<HostId>`, the same value as the `x-amz-id-2` header; omitted when undefined. */
  hostId?: string;
  /** Code-specific elements (`Key`, `BucketName`, …) written after Message in the given order. */
  extra?: Record<string, string>;
}

const RESERVED_ERROR_ELEMENTS = new Set(['Code', 'Message', 'Resource', 'RequestId', 'HostId']);

/**
 * Serialises the S3 error document: `<Error>` with no namespace; Code, Message, the extras as flat siblings,
 * Resource, then RequestId and HostId last. Never throws on `extra`: entries with a reserved or invalid name,
 * or a non-string value, are left out (this runs on the error path).
 * @see https://docs.aws.amazon.com/AmazonS3/latest/API/ErrorResponses.html
 */
export function errorXml(e: ErrorDocument): string {
  const out: string[] = [XML_DECLARATION, '\n', '<Error>'];
  const leaf = (name: string, value: string): void => {
    out.push('<', name, '>', escapeXml(value), '</', name, '>');
  };
  leaf('Code', String(e.code));
  leaf('Message', String(e.message));
  for (const [name, value] of Object.entries(e.extra ?? {})) {
    if (RESERVED_ERROR_ELEMENTS.has(name) || !NAME.test(name) || typeof value !== 'string') continue;
    leaf(name, value);
  }
  if (e.resource !== undefined) leaf('Resource', String(e.resource));
  leaf('RequestId', String(e.requestId));
  if (e.hostId !== undefined) leaf('HostId', String(e.hostId));
  out.push('</Error>');
  return out.join('');
}
