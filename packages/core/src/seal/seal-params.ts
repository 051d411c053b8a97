/**
 * Fixed parameters of archive sealing, format v1 (docs/archive-format.md §4). Changing any
 * value here changes the format: it needs a new format version, never an edit in place.
 */

/** HPKE KEM id of DHKEM(X25519, HKDF-SHA256) (RFC 9180 §7.1). */
export const HPKE_KEM_ID = 0x0020;
/** HPKE KDF id of HKDF-SHA256 (RFC 9180 §7.2). */
export const HPKE_KDF_ID = 0x0001;
/** HPKE AEAD id of AES-256-GCM (RFC 9180 §7.3). */
export const HPKE_AEAD_ID = 0x0002;

/** Length of a bucket public or private key (raw X25519), and of an HPKE `enc`. */
export const BUCKET_KEY_LENGTH = 32;
/** Length of a session key, the secret that a wrapped session key carries. */
export const SESSION_KEY_LENGTH = 32;
/** Length of the HPKE ciphertext of a session key: the key plus a 16-byte GCM tag. */
export const WRAPPED_SESSION_KEY_CT_LENGTH = SESSION_KEY_LENGTH + 16;

/** HPKE `info` for wrapping a session key (ASCII, no terminator). */
export const SESSION_KEY_HPKE_INFO = 'custos-archive-v1 session-key';

/** Label that starts the HMAC input deriving a per-record key (ASCII, then one 0x00 byte). */
export const RECORD_KEY_LABEL = 'custos-archive-v1 record-key';
/** Length of the random per-record salt that starts a sealed body. */
export const RECORD_SALT_LENGTH = 16;
/** AES-256-GCM key length. */
export const RECORD_KEY_LENGTH = 32;
/** AES-256-GCM nonce length; the nonce is all zero because every record key seals exactly once. */
export const RECORD_NONCE_LENGTH = 12;
/** AES-256-GCM tag length. */
export const RECORD_TAG_LENGTH = 16;
/** Bytes a sealed body adds to its plaintext: salt plus tag. */
export const SEALED_BODY_OVERHEAD = RECORD_SALT_LENGTH + RECORD_TAG_LENGTH;
