/**
 * Size limits of archive format v1. A decoder checks them before doing any work, and a
 * violation is OVERSIZED_INPUT (for whole inputs) or MALFORMED_RECORD (for a field).
 */

/** Current archive record format version. */
export const RECORD_FORMAT_VERSION = 1;
/** Largest encoded header. */
export const MAX_HEADER_BYTES = 64 * 1024;
/** Largest plaintext body. */
export const MAX_BODY_BYTES = 1024 * 1024;
/** Largest encoded record: header + sealed body + framing. */
export const MAX_RECORD_BYTES = MAX_HEADER_BYTES + MAX_BODY_BYTES + 64;
/** Most blind tokens in one header. */
export const MAX_TOKENS = 2048;
/**
 * Most blob ids a header lists ("att", docs/archive-format.md §2). A message carries at most
 * 32 attachments (the client's limit); 256 ids of 66 bytes leave room for 2,048 tokens
 * within MAX_HEADER_BYTES.
 */
export const MAX_HEADER_BLOB_IDS = 256;
/** Largest sequence number (the largest integer every language's double-based JSON keeps exact). */
export const MAX_SEQUENCE = Number.MAX_SAFE_INTEGER;
/** Most records in one verified chain segment or signed batch. */
export const MAX_BATCH_RECORDS = 10_000;
/** Longest short text field in a body (ids, names, content types), in UTF-8 bytes. */
export const MAX_SHORT_TEXT_BYTES = 1024;
/** Most entries in a body list (participants, attachments, envelope hashes). */
export const MAX_BODY_LIST = 4096;
