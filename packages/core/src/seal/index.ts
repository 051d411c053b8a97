/** Public surface of core/seal: bucket keys, session-key wrapping (HPKE) and record-body sealing. */
export {
  archiveHpkeSuite,
  BucketPublicKey,
  BucketPrivateKey,
  generateBucketKeyPair,
  deriveBucketKeyPair,
} from './bucket-key.js';
export type { BucketKeyPair } from './bucket-key.js';
export {
  SessionSealer,
  SessionOpener,
  createSessionSealer,
  openSessionKey,
  encodeWrappedSessionKey,
  decodeWrappedSessionKey,
  sessionKeyIdOf,
  wrapAad,
  WRAPPED_SESSION_KEY_VERSION,
  MAX_WRAPPED_SESSION_KEY_BYTES,
} from './session-key.js';
export type { WrapContext, WrappedSessionKey } from './session-key.js';
export { openWithRecordKey } from './record-cipher.js';
export {
  HPKE_KEM_ID,
  HPKE_KDF_ID,
  HPKE_AEAD_ID,
  BUCKET_KEY_LENGTH,
  SESSION_KEY_LENGTH,
  SESSION_KEY_HPKE_INFO,
  RECORD_KEY_LABEL,
  RECORD_SALT_LENGTH,
  RECORD_KEY_LENGTH,
  SEALED_BODY_OVERHEAD,
} from './seal-params.js';
