import { unquoteEtag, type ChecksumAlgorithm } from '@coffer/checksum';

import { XmlError } from './errors.ts';
import { parseXml } from './parse.ts';
import type { ParseOptions, XmlElement, XmlSource } from './parse.ts';

/** Result of {@link parseCreateBucketConfiguration}. */
export interface CreateBucketConfiguration {
  /** `<LocationConstraint>` text, trimmed; absent when the element is missing or empty. */
  locationConstraint?: string;
}

/** Result of {@link parseVersioningConfiguration}: the values as sent, trimmed; the caller checks them. */
export interface VersioningConfiguration {
  /** `<Status>` (`Enabled`, `Suspended`); absent when the element is missing. */
  status?: string;
  /** `<MfaDelete>` (`Enabled`, `Disabled`); absent when the element is missing. */
  mfaDelete?: string;
}

/** Result of {@link parseDelete}. */
export interface DeleteRequest {
  /** `<Quiet>true</Quiet>` (case-insensitive); false when absent. */
  quiet: boolean;
  /** 1..1000 entries in the order sent. `key` is exact (not trimmed; may be ''), `versionId` trimmed. */
  objects: { key: string; versionId?: string }[];
}

/** One `<Part>` of {@link CompleteMultipartUploadRequest}. */
export interface CompletePart {
  /** `<PartNumber>` as an integer; its range (1..10000) is for the caller to check. */
  partNumber: number;
  /** `<ETag>` with surrounding quotes (sent as `"` or `&quot;`) and whitespace removed. */
  etag: string;
  /** `<ChecksumCRC32>` … values (base64) keyed by algorithm. */
  checksums: Partial<Record<ChecksumAlgorithm, string>>;
}

/** Result of {@link parseCompleteMultipartUpload}. */
export interface CompleteMultipartUploadRequest {
  /** Parts in the order sent (the caller rejects a wrong order with InvalidPartOrder and an empty list with InvalidRequest). */
  parts: CompletePart[];
}

/** One `<Rule>` of {@link ServerSideEncryptionConfiguration}. */
export interface ServerSideEncryptionRule {
  /** `<SSEAlgorithm>` as sent, trimmed (`AES256`, `aws:kms`, …); the caller checks the value. */
  sseAlgorithm: string;
  /** `<KMSMasterKeyID>`, trimmed. */
  kmsMasterKeyId?: string;
  /** `<BucketKeyEnabled>`; absent when not sent. */
  bucketKeyEnabled?: boolean;
  /**
   * The `<EncryptionType>` values of `<BlockedEncryptionTypes>`, trimmed, in the order sent (`SSE-C`, `NONE`; the
   * caller checks them); absent when the rule has no such element.
   */
  blockedEncryptionTypes?: string[];
}

/** One `<CORSRule>` of a bucket's CORS configuration (values trimmed, in the order sent; the caller checks them). */
export interface CorsRule {
  /** `<ID>`. */
  id?: string;
  /** `<AllowedMethod>` values. */
  allowedMethods: string[];
  /** `<AllowedOrigin>` values (each may hold one `*`). */
  allowedOrigins: string[];
  /** `<AllowedHeader>` values (each may hold one `*`). */
  allowedHeaders: string[];
  /** `<ExposeHeader>` values. */
  exposeHeaders: string[];
  /** `<MaxAgeSeconds>`. */
  maxAgeSeconds?: number;
}

/** Result of {@link parseServerSideEncryptionConfiguration}. */
export interface ServerSideEncryptionConfiguration {
  /** At least one rule, in the order sent. */
  rules: ServerSideEncryptionRule[];
}

/** Largest number of `<Object>` entries in one DeleteObjects request. @see https://docs.aws.amazon.com/AmazonS3/latest/API/API_DeleteObjects.html */
export const MAX_DELETE_OBJECTS = 1000;

const CHECKSUM_ELEMENTS: ReadonlyArray<readonly [string, ChecksumAlgorithm]> = Object.freeze([
  ['ChecksumCRC32', 'CRC32'],
  ['ChecksumCRC32C', 'CRC32C'],
  ['ChecksumCRC64NVME', 'CRC64NVME'],
  ['ChecksumSHA1', 'SHA1'],
  ['ChecksumSHA256', 'SHA256'],
] as const);

function malformed(reason: string): XmlError {
  return new XmlError('XML_MALFORMED', reason);
}

function checkRoot(root: XmlElement, name: string): XmlElement {
  if (root.name !== name) throw malformed(`root element is <${root.name}>, expected <${name}>`);
  checkContainer(root);
  return root;
}

/** A container element may hold whitespace between its children, but no text. */
function checkContainer(el: XmlElement): void {
  if (/\S/.test(el.text)) throw malformed(`<${el.name}> holds text`);
}

/** Text of a leaf element, exactly as sent; a leaf with child elements is malformed. */
function leafText(el: XmlElement): string {
  if (el.children.length > 0) throw malformed(`<${el.name}> holds elements`);
  return el.text;
}

function children(el: XmlElement, name: string): XmlElement[] {
  return el.children.filter((c) => c.name === name);
}

function optionalChild(el: XmlElement, name: string): XmlElement | undefined {
  const found = children(el, name);
  if (found.length > 1) throw malformed(`<${el.name}> has more than one <${name}>`);
  return found[0];
}

function requiredChild(el: XmlElement, name: string): XmlElement {
  const found = optionalChild(el, name);
  if (found === undefined) throw malformed(`<${el.name}> lacks <${name}>`);
  return found;
}

/** xs:boolean, case-insensitive as AWS accepts `True` from some SDKs. */
function parseBoolean(el: XmlElement): boolean {
  const text = leafText(el).trim().toLowerCase();
  if (text === 'true' || text === '1') return true;
  if (text === 'false' || text === '0') return false;
  throw malformed(`<${el.name}> is not a boolean`);
}

async function parseRoot(source: XmlSource, opts: ParseOptions | undefined, name: string): Promise<XmlElement> {
  const root = await parseXml(source, opts);
  if (root === undefined) throw new XmlError('XML_EMPTY', `expected <${name}>, the body is empty`);
  return checkRoot(root, name);
}

/**
 * Parses a CreateBucket body. An empty body is fine (a bucket in the default region).
 * @see https://docs.aws.amazon.com/AmazonS3/latest/API/API_CreateBucket.html
 * @returns undefined for an empty body
 * @throws XmlError XML_MALFORMED (bad XML, wrong root), XML_TOO_LARGE
 */
export async function parseCreateBucketConfiguration(
  source: XmlSource,
  opts?: ParseOptions,
): Promise<CreateBucketConfiguration | undefined> {
  const root = await parseXml(source, opts);
  if (root === undefined) return undefined;
  checkRoot(root, 'CreateBucketConfiguration');
  const location = optionalChild(root, 'LocationConstraint');
  const text = location === undefined ? '' : leafText(location).trim();
  return text === '' ? {} : { locationConstraint: text };
}

/**
 * Parses a PutBucketVersioning body: `<VersioningConfiguration><Status/><MfaDelete/></VersioningConfiguration>`.
 * @see https://docs.aws.amazon.com/AmazonS3/latest/API/API_PutBucketVersioning.html
 * @throws XmlError XML_EMPTY (empty body), XML_MALFORMED (bad XML, wrong root, a repeated element), XML_TOO_LARGE
 */
export async function parseVersioningConfiguration(
  source: XmlSource,
  opts?: ParseOptions,
): Promise<VersioningConfiguration> {
  const root = await parseRoot(source, opts, 'VersioningConfiguration');
  const out: VersioningConfiguration = {};
  const status = optionalChild(root, 'Status');
  if (status !== undefined) out.status = leafText(status).trim();
  const mfa = optionalChild(root, 'MfaDelete');
  if (mfa !== undefined) out.mfaDelete = leafText(mfa).trim();
  return out;
}

/**
 * Parses a DeleteObjects body: `<Delete><Quiet>true</Quiet><Object><Key/><VersionId/></Object>…</Delete>`.
 * @see https://docs.aws.amazon.com/AmazonS3/latest/API/API_DeleteObjects.html
 * @throws XmlError XML_EMPTY (empty body), XML_MALFORMED (bad XML, wrong root, an Object without Key,
 *   no Object or more than 1000), XML_TOO_LARGE
 */
export async function parseDelete(source: XmlSource, opts?: ParseOptions): Promise<DeleteRequest> {
  const root = await parseRoot(source, opts, 'Delete');
  const quietEl = optionalChild(root, 'Quiet');
  const quiet = quietEl === undefined ? false : parseBoolean(quietEl);
  const objectEls = children(root, 'Object');
  if (objectEls.length === 0) throw malformed('<Delete> has no <Object>');
  if (objectEls.length > MAX_DELETE_OBJECTS) throw malformed(`<Delete> has more than ${MAX_DELETE_OBJECTS} <Object>`);
  const objects = objectEls.map((el) => {
    checkContainer(el);
    const key = leafText(requiredChild(el, 'Key'));
    const versionEl = optionalChild(el, 'VersionId');
    return versionEl === undefined ? { key } : { key, versionId: leafText(versionEl).trim() };
  });
  return { quiet, objects };
}

/**
 * Parses a CompleteMultipartUpload body. Parts keep the order sent; ETags lose their quotes.
 * @see https://docs.aws.amazon.com/AmazonS3/latest/API/API_CompleteMultipartUpload.html
 * @throws XmlError XML_EMPTY (empty body), XML_MALFORMED (bad XML, wrong root, a Part without PartNumber or
 *   ETag, a PartNumber that is not an integer), XML_TOO_LARGE
 */
export async function parseCompleteMultipartUpload(
  source: XmlSource,
  opts?: ParseOptions,
): Promise<CompleteMultipartUploadRequest> {
  const root = await parseRoot(source, opts, 'CompleteMultipartUpload');
  const parts = children(root, 'Part').map((el): CompletePart => {
    checkContainer(el);
    const numberText = leafText(requiredChild(el, 'PartNumber')).trim();
    if (!/^[+-]?\d{1,15}$/.test(numberText)) throw malformed('<PartNumber> is not an integer');
    const partNumber = Number(numberText);
    const etag = unquoteEtag(leafText(requiredChild(el, 'ETag')));
    const checksums: Partial<Record<ChecksumAlgorithm, string>> = {};
    for (const [name, algorithm] of CHECKSUM_ELEMENTS) {
      const c = optionalChild(el, name);
      if (c !== undefined) checksums[algorithm] = leafText(c).trim();
    }
    return { partNumber, etag, checksums };
  });
  return { parts };
}

/**
 * Parses a PutBucketEncryption body:
 * `<ServerSideEncryptionConfiguration><Rule><ApplyServerSideEncryptionByDefault><SSEAlgorithm/>
 * <KMSMasterKeyID/></ApplyServerSideEncryptionByDefault><BucketKeyEnabled/><BlockedEncryptionTypes>
 * <EncryptionType/>…</BlockedEncryptionTypes></Rule>…`. Other elements are ignored.
 * @see https://docs.aws.amazon.com/AmazonS3/latest/API/API_PutBucketEncryption.html
 * @throws XmlError XML_EMPTY (empty body), XML_MALFORMED (bad XML, wrong root, no Rule, a Rule without
 *   ApplyServerSideEncryptionByDefault/SSEAlgorithm, a BucketKeyEnabled that is not a boolean), XML_TOO_LARGE
 */
export async function parseServerSideEncryptionConfiguration(
  source: XmlSource,
  opts?: ParseOptions,
): Promise<ServerSideEncryptionConfiguration> {
  const root = await parseRoot(source, opts, 'ServerSideEncryptionConfiguration');
  const ruleEls = children(root, 'Rule');
  if (ruleEls.length === 0) throw malformed('<ServerSideEncryptionConfiguration> has no <Rule>');
  const rules = ruleEls.map((el): ServerSideEncryptionRule => {
    checkContainer(el);
    const byDefault = requiredChild(el, 'ApplyServerSideEncryptionByDefault');
    checkContainer(byDefault);
    const sseAlgorithm = leafText(requiredChild(byDefault, 'SSEAlgorithm')).trim();
    if (sseAlgorithm === '') throw malformed('<SSEAlgorithm> is empty');
    const rule: ServerSideEncryptionRule = { sseAlgorithm };
    const kmsEl = optionalChild(byDefault, 'KMSMasterKeyID');
    if (kmsEl !== undefined) rule.kmsMasterKeyId = leafText(kmsEl).trim();
    const bucketKeyEl = optionalChild(el, 'BucketKeyEnabled');
    if (bucketKeyEl !== undefined) rule.bucketKeyEnabled = parseBoolean(bucketKeyEl);
    const blockedEl = optionalChild(el, 'BlockedEncryptionTypes');
    if (blockedEl !== undefined) {
      checkContainer(blockedEl);
      rule.blockedEncryptionTypes = children(blockedEl, 'EncryptionType').map((t) => leafText(t).trim());
    }
    return rule;
  });
  return { rules };
}

/**
 * Parses a PutBucketCors body: `<CORSConfiguration><CORSRule><ID/><AllowedMethod/>…<AllowedOrigin/>…
 * <AllowedHeader/>…<ExposeHeader/>…<MaxAgeSeconds/></CORSRule>…</CORSConfiguration>`.
 * @see https://docs.aws.amazon.com/AmazonS3/latest/API/API_PutBucketCors.html
 * @throws XmlError XML_EMPTY, XML_MALFORMED (bad XML, wrong root, no CORSRule, a rule without AllowedMethod or
 *   AllowedOrigin, a MaxAgeSeconds that is not a non-negative integer), XML_TOO_LARGE
 */
export async function parseCorsConfiguration(source: XmlSource, opts?: ParseOptions): Promise<{ rules: CorsRule[] }> {
  const root = await parseRoot(source, opts, 'CORSConfiguration');
  const ruleEls = children(root, 'CORSRule');
  if (ruleEls.length === 0) throw malformed('<CORSConfiguration> has no <CORSRule>');
  const rules = ruleEls.map((el): CorsRule => {
    checkContainer(el);
    const texts = (name: string) => children(el, name).map((c) => leafText(c).trim());
    const rule: CorsRule = {
      allowedMethods: texts('AllowedMethod'),
      allowedOrigins: texts('AllowedOrigin'),
      allowedHeaders: texts('AllowedHeader'),
      exposeHeaders: texts('ExposeHeader'),
    };
    if (rule.allowedMethods.length === 0) throw malformed('<CORSRule> has no <AllowedMethod>');
    if (rule.allowedOrigins.length === 0) throw malformed('<CORSRule> has no <AllowedOrigin>');
    const id = optionalChild(el, 'ID');
    if (id !== undefined) rule.id = leafText(id).trim();
    const maxAge = optionalChild(el, 'MaxAgeSeconds');
    if (maxAge !== undefined) {
      const text = leafText(maxAge).trim();
      if (!/^\d{1,9}$/.test(text)) throw malformed('<MaxAgeSeconds> is not a non-negative integer');
      rule.maxAgeSeconds = Number(text);
    }
    return rule;
  });
  return { rules };
}

/**
 * Parses a PutObjectTagging / PutBucketTagging body: `<Tagging><TagSet><Tag><Key/><Value/></Tag>…</TagSet></Tagging>`.
 * Tags in the order sent, values as sent (not trimmed: spaces are part of a tag); the caller checks counts,
 * lengths and duplicates.
 * @see https://docs.aws.amazon.com/AmazonS3/latest/API/API_PutObjectTagging.html
 * @throws XmlError XML_EMPTY, XML_MALFORMED (bad XML, wrong root, no TagSet, a Tag without Key or Value), XML_TOO_LARGE
 */
export async function parseTagging(
  source: XmlSource,
  opts?: ParseOptions,
): Promise<{ tags: { key: string; value: string }[] }> {
  const root = await parseRoot(source, opts, 'Tagging');
  const set = requiredChild(root, 'TagSet');
  checkContainer(set);
  const tags = children(set, 'Tag').map((el) => {
    checkContainer(el);
    return { key: leafText(requiredChild(el, 'Key')), value: leafText(requiredChild(el, 'Value')) };
  });
  return { tags };
}

/** One `<Rule>` of a bucket lifecycle configuration, as sent (the caller checks values and combinations). */
export interface LifecycleRule {
  id?: string;
  /** `<Status>` (`Enabled` / `Disabled`). */
  status: string;
  /** `<Filter>` (or the older `<Prefix>` directly in the rule); absent = every object. */
  filter: { prefix?: string; tags: { key: string; value: string }[]; sizeGreaterThan?: string; sizeLessThan?: string };
  /** True when the rule had the older form, its `<Prefix>` directly in the rule instead of a `<Filter>`. */
  legacyPrefix?: true;
  /** `<Expiration>`: `<Days>`, `<Date>` or `<ExpiredObjectDeleteMarker>` as text. */
  expiration?: { days?: string; date?: string; expiredObjectDeleteMarker?: string };
  /** `<AbortIncompleteMultipartUpload><DaysAfterInitiation>`. */
  abortIncompleteDays?: string;
  /** `<NoncurrentVersionExpiration>`: `<NoncurrentDays>`, `<NewerNoncurrentVersions>` as text. */
  noncurrentExpiration?: { noncurrentDays?: string; newerNoncurrentVersions?: string };
  /** Names of the other actions present (`Transition`, `NoncurrentVersionExpiration`, …). */
  otherActions: string[];
}

/**
 * Parses a PutBucketLifecycleConfiguration body: `<LifecycleConfiguration><Rule>…</Rule>…</LifecycleConfiguration>`.
 * @see https://docs.aws.amazon.com/AmazonS3/latest/API/API_PutBucketLifecycleConfiguration.html
 * @throws XmlError XML_EMPTY, XML_MALFORMED (bad XML, wrong root, no Rule, a Rule without Status, a Rule with both
 * `<Prefix>` and `<Filter>`), XML_TOO_LARGE
 */
export async function parseLifecycleConfiguration(
  source: XmlSource,
  opts?: ParseOptions,
): Promise<{ rules: LifecycleRule[] }> {
  const root = await parseRoot(source, opts, 'LifecycleConfiguration');
  const ruleEls = children(root, 'Rule');
  if (ruleEls.length === 0) throw malformed('<LifecycleConfiguration> has no <Rule>');
  const text = (el: XmlElement | undefined, name: string): string | undefined => {
    const c = el && optionalChild(el, name);
    return c === undefined ? undefined : leafText(c).trim();
  };
  const tagsOf = (el: XmlElement) =>
    children(el, 'Tag').map((t) => ({
      key: leafText(requiredChild(t, 'Key')),
      value: leafText(requiredChild(t, 'Value')),
    }));
  const rules = ruleEls.map((el): LifecycleRule => {
    checkContainer(el);
    const status = text(el, 'Status');
    if (status === undefined) throw malformed('<Rule> has no <Status>');
    const rule: LifecycleRule = { status, filter: { tags: [] }, otherActions: [] };
    const id = text(el, 'ID');
    if (id !== undefined) rule.id = id;
    const filterEl = optionalChild(el, 'Filter');
    const and = filterEl && optionalChild(filterEl, 'And');
    const scope = and ?? filterEl;
    const legacy = text(el, 'Prefix');
    // The two forms exclude each other (S3 answers MalformedXML); the older one is kept so it reads back as written.
    if (legacy !== undefined && filterEl) throw malformed('<Rule> has both <Prefix> and <Filter>');
    if (legacy !== undefined) rule.legacyPrefix = true;
    const prefix = text(scope, 'Prefix') ?? legacy;
    if (prefix !== undefined) rule.filter.prefix = prefix;
    if (scope) {
      rule.filter.tags = tagsOf(scope);
      const gt = text(scope, 'ObjectSizeGreaterThan');
      const lt = text(scope, 'ObjectSizeLessThan');
      if (gt !== undefined) rule.filter.sizeGreaterThan = gt;
      if (lt !== undefined) rule.filter.sizeLessThan = lt;
    }
    const exp = optionalChild(el, 'Expiration');
    if (exp) {
      checkContainer(exp);
      rule.expiration = {};
      for (const [name, field] of [
        ['Days', 'days'],
        ['Date', 'date'],
        ['ExpiredObjectDeleteMarker', 'expiredObjectDeleteMarker'],
      ] as const) {
        const v = text(exp, name);
        if (v !== undefined) rule.expiration[field] = v;
      }
    }
    const abort = optionalChild(el, 'AbortIncompleteMultipartUpload');
    if (abort) rule.abortIncompleteDays = text(abort, 'DaysAfterInitiation') ?? '';
    const noncurrent = optionalChild(el, 'NoncurrentVersionExpiration');
    if (noncurrent) {
      checkContainer(noncurrent);
      rule.noncurrentExpiration = leaves(noncurrent, {
        NoncurrentDays: 'noncurrentDays',
        NewerNoncurrentVersions: 'newerNoncurrentVersions',
      });
    }
    const known = ['ID', 'Status', 'Filter', 'Prefix', 'Expiration', 'AbortIncompleteMultipartUpload'];
    for (const c of el.children) {
      if (![...known, 'NoncurrentVersionExpiration'].includes(c.name)) rule.otherActions.push(c.name);
    }
    return rule;
  });
  return { rules };
}

/** Result of {@link parseObjectLockConfiguration}: the values as sent, trimmed; the caller checks them. */
export interface ObjectLockConfiguration {
  /** `<ObjectLockEnabled>` (`Enabled`); absent when the element is missing. */
  enabled?: string;
  /** `<Rule><DefaultRetention>`: `<Mode>`, `<Days>`, `<Years>` as sent; absent when there is no `<Rule>`. */
  defaultRetention?: { mode?: string; days?: string; years?: string };
}

/**
 * Parses a PutObjectLockConfiguration body:
 * `<ObjectLockConfiguration><ObjectLockEnabled/><Rule><DefaultRetention><Mode/><Days/><Years/></DefaultRetention>
 * </Rule></ObjectLockConfiguration>`.
 * @see https://docs.aws.amazon.com/AmazonS3/latest/API/API_PutObjectLockConfiguration.html
 * @throws XmlError XML_EMPTY, XML_MALFORMED (bad XML, wrong root, a repeated element, a Rule without
 *   DefaultRetention), XML_TOO_LARGE
 */
export async function parseObjectLockConfiguration(
  source: XmlSource,
  opts?: ParseOptions,
): Promise<ObjectLockConfiguration> {
  const root = await parseRoot(source, opts, 'ObjectLockConfiguration');
  const out: ObjectLockConfiguration = {};
  const enabled = optionalChild(root, 'ObjectLockEnabled');
  if (enabled !== undefined) out.enabled = leafText(enabled).trim();
  const rule = optionalChild(root, 'Rule');
  if (rule !== undefined) {
    checkContainer(rule);
    const retention = requiredChild(rule, 'DefaultRetention');
    checkContainer(retention);
    out.defaultRetention = leaves(retention, { Mode: 'mode', Days: 'days', Years: 'years' });
  }
  return out;
}

/** Result of {@link parseRetention}: the values as sent, trimmed; the caller checks them. */
export interface Retention {
  /** `<Mode>` (`GOVERNANCE`, `COMPLIANCE`). */
  mode?: string;
  /** `<RetainUntilDate>` (ISO 8601). */
  retainUntilDate?: string;
}

/**
 * Parses a PutObjectRetention body: `<Retention><Mode/><RetainUntilDate/></Retention>`.
 * @see https://docs.aws.amazon.com/AmazonS3/latest/API/API_PutObjectRetention.html
 * @throws XmlError XML_EMPTY, XML_MALFORMED (bad XML, wrong root, a repeated element), XML_TOO_LARGE
 */
export async function parseRetention(source: XmlSource, opts?: ParseOptions): Promise<Retention> {
  const root = await parseRoot(source, opts, 'Retention');
  return leaves(root, { Mode: 'mode', RetainUntilDate: 'retainUntilDate' });
}

/**
 * Parses a PutObjectLegalHold body: `<LegalHold><Status/></LegalHold>`; the status as sent, trimmed.
 * @see https://docs.aws.amazon.com/AmazonS3/latest/API/API_PutObjectLegalHold.html
 * @throws XmlError XML_EMPTY, XML_MALFORMED (bad XML, wrong root, a repeated Status), XML_TOO_LARGE
 */
export async function parseLegalHold(source: XmlSource, opts?: ParseOptions): Promise<{ status?: string }> {
  const root = await parseRoot(source, opts, 'LegalHold');
  return leaves(root, { Status: 'status' });
}

/** The trimmed text of the optional leaf children of `el` named in `names` (element name → field). */
function leaves<F extends string>(el: XmlElement, names: Record<string, F>): Partial<Record<F, string>> {
  const out: Partial<Record<F, string>> = {};
  for (const [name, field] of Object.entries(names)) {
    const c = optionalChild(el, name);
    if (c !== undefined) out[field] = leafText(c).trim();
  }
  return out;
}
