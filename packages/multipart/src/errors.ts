/** Error codes of @coffer/multipart; the server maps them to S3 errors. */
export type MultipartErrorCode =
  | 'MP_INVALID_PART_NUMBER'
  | 'MP_NO_PARTS'
  | 'MP_INVALID_PART_ORDER'
  | 'MP_INVALID_PART'
  | 'MP_ENTITY_TOO_SMALL';

/** An error of the multipart rules, with a stable code and the S3 error document's extra elements. */
export class MultipartError extends Error {
  readonly code: MultipartErrorCode;
  readonly details: Record<string, string>;

  constructor(code: MultipartErrorCode, message: string, details: Record<string, string> = {}) {
    super(message);
    this.name = 'MultipartError';
    this.code = code;
    this.details = details;
  }
}
