export { XmlError, XML_ERROR_MESSAGES } from './errors.ts';
export type { XmlErrorCode } from './errors.ts';
export { parseXml, DEFAULT_PARSE_OPTIONS } from './parse.ts';
export type { ParseOptions, XmlElement, XmlSource } from './parse.ts';
export {
  parseCreateBucketConfiguration,
  parseDelete,
  parseVersioningConfiguration,
  parseCompleteMultipartUpload,
  parseServerSideEncryptionConfiguration,
  parseCorsConfiguration,
  parseTagging,
  parseLifecycleConfiguration,
  parseObjectLockConfiguration,
  parseRetention,
  parseLegalHold,
  MAX_DELETE_OBJECTS,
} from './s3-requests.ts';
export type {
  CreateBucketConfiguration,
  DeleteRequest,
  VersioningConfiguration,
  CompletePart,
  CompleteMultipartUploadRequest,
  ServerSideEncryptionRule,
  ServerSideEncryptionConfiguration,
  CorsRule,
  LifecycleRule,
  ObjectLockConfiguration,
  Retention,
} from './s3-requests.ts';
export { ATTRS, S3_NAMESPACE, XML_DECLARATION, buildXml, errorXml, escapeXml } from './build.ts';
export type { XmlValue, XmlNode, BuildOptions, ErrorDocument } from './build.ts';
