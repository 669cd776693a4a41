export type {
  AuthContext,
  BodyDecoder,
  BodyDecoderOptions,
  BodyDecoderResult,
  Headers,
  PayloadMode,
  SignableRequest,
  VerifyOptions,
} from './types.ts';
export { SigV4Error, type SigV4ErrorCode } from './errors.ts';
export { DEFAULT_VERIFY_OPTIONS, MAX_PRESIGN_EXPIRES } from './verify.ts';
export { verifyRequest } from './request.ts';
export { SIGV2_ALGORITHM, isSigV2Request, signV2, verifyV2Request } from './v2.ts';
export { MIN_CHUNK_SIZE, createBodyDecoder } from './decoder.ts';
export { checkContentMd5, parseContentMd5 } from './content-md5.ts';
export { presignUrl, signRequest, type PresignUrlInput, type SignRequestInput } from './client.ts';
export {
  checkPostPolicy,
  missingPostFieldMessage,
  verifyPostForm,
  type PostAuth,
  type PostPolicyResult,
} from './post.ts';
