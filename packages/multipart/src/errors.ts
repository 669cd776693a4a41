/** Error codes of @coffer/multipart; the server maps them to S3 errors (README.md, one heading per code). */
export type MultipartErrorCode =
  | 'MP_INVALID_PART_NUMBER'
  | 'MP_NO_PARTS'
  | 'MP_INVALID_PART_ORDER'
  | 'MP_INVALID_PART'
  | 'MP_ENTITY_TOO_SMALL'
  | 'MP_NO_SUCH_UPLOAD'
  | 'MP_BAD_DIGEST'
  | 'MP_CHECKSUM_MISSING'
  | 'MP_INVALID_CHECKSUM_TYPE'
  | 'MP_OBJECT_SIZE_MISMATCH'
  | 'MP_SSEC_REQUIRED'
  | 'MP_SSEC_NOT_APPLICABLE'
  | 'MP_SSEC_KEY_MISMATCH'
  | 'MP_INVALID_UPLOAD_ID_MARKER'
  | 'MP_PRECONDITION_FAILED';

/** An error of the multipart rules, with a stable code and the S3 error document's extra elements. */
export class MultipartError extends Error {
  readonly code: MultipartErrorCode;
  readonly details: Record<string, string>;

  constructor(
    code: MultipartErrorCode,
    message: string,
    details: Record<string, string> = {},
    options?: { cause?: unknown },
  ) {
    super(message, options);
    this.name = 'MultipartError';
    this.code = code;
    this.details = details;
  }
}

/** AWS's messages for the multipart errors (shared/S3-ERRORS.md; trailing periods matter). */
export const MULTIPART_MESSAGES = Object.freeze({
  noSuchUpload:
    'The specified upload does not exist. The upload ID may be invalid, or the upload may have been aborted or completed.',
  ssecRequired:
    'The multipart upload initiate requested encryption. Subsequent part requests must include the appropriate encryption parameters.',
  ssecMismatch: 'The provided encryption parameters did not match the ones used originally.',
  ssecNotApplicable: 'The encryption parameters are not applicable to this object.',
  invalidUploadIdMarker: 'Invalid uploadId marker',
  preconditionFailed: 'At least one of the pre-conditions you specified did not hold',
});

/** `MP_NO_SUCH_UPLOAD` for an upload id. */
export function noSuchUpload(uploadId: string): MultipartError {
  return new MultipartError('MP_NO_SUCH_UPLOAD', MULTIPART_MESSAGES.noSuchUpload, { UploadId: uploadId });
}
