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

/**
 * Length of the random per-record nonce that starts a sealed body: an XAES-256-GCM nonce
 * (C2SP XAES-256-GCM). Its first 12 bytes derive the record key, its last 12 are the
 * AES-256-GCM nonce under that key.
 */
export const RECORD_NONCE_LENGTH = 24;
/** Leading bytes of the record nonce that derive the record key (XAES-256-GCM's N[:12]). */
export const RECORD_KEY_NONCE_LENGTH = 12;
/** AES-256-GCM key length: a record key (XAES-256-GCM's derived key Kx). */
export const RECORD_KEY_LENGTH = 32;
/** AES-256-GCM nonce length: the last 12 bytes of the record nonce (XAES-256-GCM's Nx). */
export const RECORD_GCM_NONCE_LENGTH = 12;
/** AES-256-GCM tag length. */
export const RECORD_TAG_LENGTH = 16;
/** Bytes a sealed body adds to its plaintext: nonce plus tag (XAES-256-GCM's 40-byte overhead). */
export const SEALED_BODY_OVERHEAD = RECORD_NONCE_LENGTH + RECORD_TAG_LENGTH;
