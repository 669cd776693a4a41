export { CryptoError, type CryptoErrorCode } from './errors.ts';
export {
  CHUNK_SIZE,
  CIPHER,
  FORMAT_MAGIC,
  KEY_LENGTH,
  MAX_CHUNK_SIZE,
  NONCE_LENGTH,
  TAG_LENGTH,
  chunkAad,
  chunkCount,
  chunkNonce,
  chunkPlainLength,
  chunkSpan,
  encryptedSize,
  type ChunkSpan,
} from './format.ts';
export { decryptChunk, encryptChunk } from './chunk.ts';
export {
  createDecryptStream,
  createEncryptStream,
  type DecryptStreamOptions,
  type EncryptStreamOptions,
} from './streams.ts';
export {
  OFF_THREAD_HASH_DEFAULTS,
  OffThreadHash,
  createOffThreadHash,
  type OffThreadHashOptions,
} from './digest.ts';
export { CRYPTO_POOL_DEFAULTS, CryptoPool, defaultCryptoThreads, type CryptoPoolOptions } from './pool.ts';
export { secureRandom } from './random.ts';
export {
  deriveStreamKey,
  generateDataKey,
  hkdfSha256,
  ssecEtag,
  unwrapDataKey,
  wrapDataKey,
  type Scheme,
  type UnwrapParams,
  type WrapParams,
  type WrappedKey,
} from './keys.ts';
export {
  KEYRING_FILE,
  MasterKeyRing,
  openKeyFile,
  type KeyRingStorage,
  type MasterKeyRingOptions,
  type StoredKeyRingOptions,
  type WrappedKeyRing,
} from './keyring.ts';
export {
  COPY_SOURCE_SSEC_PREFIX,
  SSEC_PREFIX,
  SSE_HEADER,
  SSE_MESSAGES,
  parseServerSideEncryption,
  parseSseCustomerHeaders,
  sseCustomerConflict,
  type HeadersLike,
  type SseCustomerKey,
  type SseCustomerParseOptions,
} from './sse.ts';
