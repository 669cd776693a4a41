/**
 * The one rule for reading an ETag a client sends back: in `If-Match` on a write, in a read's conditional headers,
 * and in CompleteMultipartUpload's `<ETag>` elements.
 */

/**
 * The ETag inside a client's text: whitespace trimmed, then one pair of surrounding double quotes removed. Coffer
 * stores ETags bare (`md5hex`, `md5hex-N`) and sends them quoted, as S3 does.
 *
 * Why this rule: RFC 9110 §8.8.3 writes an entity-tag as `DQUOTE *etagc DQUOTE`, where no `etagc` is a quote, so
 * quotes come as a pair around the whole value; S3 also takes the bare value (s3cmd lists unquoted ETags in its
 * Complete requests). A lone or unbalanced quote (`"abc`) is neither form: it is kept, so it matches no stored ETag
 * and the request fails as S3 fails a wrong ETag, instead of being read as `abc`. Whitespace is trimmed because
 * HTTP drops it around a field value (RFC 9110 §5.5) and an indented XML body carries it around element text.
 * A weak tag's `W/` is the caller's to remove: only a read's conditional headers take weak tags.
 * @see https://www.rfc-editor.org/rfc/rfc9110#section-8.8.3
 * @see https://docs.aws.amazon.com/AmazonS3/latest/API/API_CompleteMultipartUpload.html
 */
export function unquoteEtag(text: string): string {
  const t = text.trim();
  return t.length >= 2 && t.startsWith('"') && t.endsWith('"') ? t.slice(1, -1) : t;
}
