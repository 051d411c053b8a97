/** Public surface of core/record: archive record format v1 — ids, header, body, sealing, chains. */
export {
  orgId,
  deviceId,
  bucketId,
  recordHash,
  sessionKeyId,
  genesisPrevHash,
  isWellFormedId,
  MAX_ID_LENGTH,
  HASH_LENGTH as RECORD_HASH_LENGTH,
} from './ids.js';
export type { OrgId, DeviceId, BucketId, RecordHash, SessionKeyId } from './ids.js';
export {
  RECORD_FORMAT_VERSION,
  MAX_HEADER_BYTES,
  MAX_BODY_BYTES,
  MAX_RECORD_BYTES,
  MAX_TOKENS,
  MAX_HEADER_BLOB_IDS,
  MAX_SEQUENCE,
  MAX_BATCH_RECORDS,
  MAX_SHORT_TEXT_BYTES,
  MAX_BODY_LIST,
} from './limits.js';
export {
  encodeHeader,
  decodeHeader,
  validateHeader,
  canonicalTokens,
  canonicalBlobIds,
  listsBlobIds,
  unlistedBlobIds,
  BLOB_ID_REGEX,
} from './header.js';
export type { RecordHeader } from './header.js';
export { encodeBody, decodeBody, EVENT_KINDS, MAX_TEXT_BYTES } from './body.js';
export type { RecordBody, AttachmentRef, Direction, EventKind } from './body.js';
export {
  sealRecord,
  sealRecordBytes,
  openRecord,
  openRecordBytes,
  parseRecord,
  frameRecord,
  recordHashOf,
} from './record.js';
export type { RecordHeaderInput, SealedRecord, ParsedRecord } from './record.js';
export { recordKeyOf, openRecordWithKey, openRecordBytesWithKey } from './record-key.js';
export { verifyChain } from './chain.js';
export type { ChainAnchor, ChainLink } from './chain.js';
export {
  encodeDeterministic as encodeDeterministicCbor,
  decodeStrict as decodeStrictCbor,
  decodeStrictMap as decodeStrictCborMap,
} from './deterministic-cbor.js';
