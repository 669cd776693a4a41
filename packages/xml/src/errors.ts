/** Stable codes of {@link XmlError}. The server maps them to S3 errors (see README). */
export type XmlErrorCode = 'XML_MALFORMED' | 'XML_TOO_LARGE' | 'XML_EMPTY';

/**
 * The AWS message of the S3 error each code maps to, used as `error.message` so the server can send it as is.
 * The specific problem (sax's complaint, the missing element) is in `error.reason`.
 * @see https://docs.aws.amazon.com/AmazonS3/latest/API/ErrorResponses.html
 */
export const XML_ERROR_MESSAGES: Readonly<Record<XmlErrorCode, string>> = Object.freeze({
  XML_MALFORMED: 'The XML you provided was not well-formed or did not validate against our published schema',
  XML_TOO_LARGE: 'Your request was too big.',
  XML_EMPTY: 'Request body is empty.',
});

/** Error thrown by every parser of this package. */
export class XmlError extends Error {
  /** Stable code: XML_MALFORMED → MalformedXML, XML_TOO_LARGE → MaxMessageLengthExceeded, XML_EMPTY → MissingRequestBodyError. */
  readonly code: XmlErrorCode;
  /** What exactly was wrong, for logs; not meant for the S3 error document. */
  readonly reason: string;
  /** Extra fields the server may put in the S3 error document (none at present). */
  readonly details: Record<string, string>;

  /**
   * @param code stable error code
   * @param reason the specific problem, for logs
   * @param options `cause` (the sax error, …) and `details`
   */
  constructor(code: XmlErrorCode, reason: string, options: { cause?: unknown; details?: Record<string, string> } = {}) {
    super(XML_ERROR_MESSAGES[code], options.cause === undefined ? undefined : { cause: options.cause });
    this.name = 'XmlError';
    this.code = code;
    this.reason = reason;
    this.details = options.details ?? {};
  }
}
