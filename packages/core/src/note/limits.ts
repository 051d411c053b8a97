/**
 * Named limits for the signed-note family of parsers. Every parser checks its input
 * against these before doing any work proportional to the input, so hostile input
 * cannot make it allocate or loop without bound.
 */

/**
 * Largest signed note accepted, in bytes. The spec asks verifiers to accept at least 16
 * signatures of up to ~5 kB (post-quantum); 1 MiB leaves room for 100 of them.
 */
export const MAX_NOTE_BYTES = 1024 * 1024;

/** Most signature lines accepted in one note (the spec's floor is 16; Go uses 100). */
export const MAX_NOTE_SIGNATURES = 100;

/** Longest key name accepted, in UTF-8 bytes; names are schema-less URLs. */
export const MAX_KEY_NAME_BYTES = 256;

/** Longest verifier-key or signer-key string accepted, in characters. */
export const MAX_KEY_STRING_LENGTH = 1024;

/**
 * Most hashes in a receipt's inclusion proof. Tree sizes are safe integers (< 2^53), so a
 * real proof never has more than 53; anything longer is hostile.
 */
export const MAX_PROOF_HASHES = 64;

/** Largest tlog-proof receipt accepted: a note plus the proof and header lines. */
export const MAX_RECEIPT_BYTES = MAX_NOTE_BYTES + 16 * 1024;

/** Largest `extra` data accepted in a receipt, in bytes (before base64). */
export const MAX_RECEIPT_EXTRA_BYTES = 8 * 1024;
