/** @custos/client — the device SDK: encrypted local store, transport, enrolment, messaging, archive capture. */
export { CLIENT_ERROR_CODES, ClientError, isClientError, isServerRefusal } from './errors.js';
export type { ClientErrorCode, ClientErrorOptions, ServerRefusal } from './errors.js';
export { LocalStore, STORE_TABLES, STORE_SCHEMA_VERSION, profilePaths } from './store/local-store.js';
export type { StoreTable, StoreRow } from './store/local-store.js';
export { STORAGE_KEY_FILE, storageKeyKind } from './store/storage-key.js';
export type { StorageKeyProtection, StorageKeyOptions } from './store/storage-key.js';
export { signalStores, loadLocalIdentity, saveLocalIdentity } from './store/signal-stores.js';
export type { SignalStores, IdentityChangeEvent } from './store/signal-stores.js';
export { CustosClient } from './custos-client.js';
export type {
  ArchiveStatus,
  AwaitingBatchProof,
  AwaitingGapProof,
  OpenOptions,
  Retirement,
} from './custos-client.js';
export type { EnrolOptions } from './enrol/enrol.js';
export type { LinkCode, OwnDevice } from './devices/own-devices.js';
export type { DeviceRevocation } from './devices/device-revocation.js';
export {
  parseEnrolmentCode,
  signingKeyFingerprint,
  verifyBucketDocument,
  verifyDelegation,
} from './enrol/org-keys.js';
export type { RetentionClass, VerifiedBucket, EnrolmentCode, KeyManager } from './enrol/org-keys.js';
export { sealIndexKeyForDevice, openIndexKey, INDEX_KEY_SEAL_INFO } from './archive/index-key-envelope.js';
export type { ArchiveReceiptRow } from './archive/uploader.js';
/** A revoked or retiring device's archive hand-in (docs/threat-model.md). */
export { notUploadedRun, revocationOf } from './archive/hand-in.js';
export type { ArchiveHandIn, ArchiveRun, Revocation } from './archive/hand-in.js';
export type { ProofRound } from './archive/proofs.js';
export { encodeContent, decodeContent, newMessageId, CONTENT_VERSION } from './messaging/content.js';
export type { MessageContent, ArchiveNotice, ContentKind } from './messaging/content.js';
export type { StoredMessage, Warning } from './messaging/message-store.js';
export type { ArchivedBy } from './messaging/archive-notices.js';
export type {
  GroupChangeSummary,
  MessageEvent,
  OutgoingContent,
  PendingSendInfo,
} from './messaging/messenger.js';
export type { GroupInfo } from './messaging/groups.js';
export type {
  AttachmentPointer,
  GroupState,
  ReceiptType,
  UserRef,
  ContentProfile,
} from './messaging/content-parts.js';
export {
  encryptAttachment,
  decryptAttachment,
  MAX_ATTACHMENT_BYTES,
  ATTACHMENT_AAD,
} from './messaging/attachments.js';
export type { AttachmentMeta } from './messaging/attachments.js';
export { directConversationId, userAddress } from './messaging/peers.js';
export type { PeerUser } from './messaging/peers.js';
export { ApiClient } from './transport/api-client.js';
export type { ApiClientOptions } from './transport/api-client.js';
export {
  AnswerTooLargeError,
  createHttpFetch,
  DEFAULT_ANSWER_LIMIT_BYTES,
  httpFetch,
  IDLE_CONNECTION_MS,
} from './transport/http-fetch.js';
export {
  ARCHIVE_RECORD_ANSWER_BYTES,
  AUDIT_ACT_ANSWER_BYTES,
  auditAnswerLimit,
  BLOB_ANSWER_LIMIT_BYTES,
  COMPLETENESS_ANSWER_LIMIT_BYTES,
  ENTRY_BUNDLE_ANSWER_LIMIT_BYTES,
  GAP_DECLARATIONS_ANSWER_LIMIT_BYTES,
  HOLD_ANSWER_BYTES,
  holdsAnswerLimit,
  INDEX_KEYS_ANSWER_LIMIT_BYTES,
  MAX_INDEX_KEY_BUCKETS,
  MESSAGES_ANSWER_LIMIT_BYTES,
  recordsAnswerLimit,
  REVIEW_RULES_ANSWER_LIMIT_BYTES,
  SERVER_ANSWER_BOUNDS,
} from './transport/answer-limits.js';
export type { HttpFetch, HttpFetchOptions, HttpRequestInit, HttpResponse } from './transport/http-fetch.js';
export type { RelayEnvelope } from './transport/relay-socket.js';
export { ArchiveCapture, decodeQueued, loadChain, SESSION_KEY_MAX_RECORDS } from './archive/capture.js';
export type { QueuedRecord, ChainState } from './archive/capture.js';
export {
  ArchiveUploader,
  uploadedThrough,
  UPLOAD_BATCH_RECORDS,
  UPLOAD_PIPELINE_DEPTH,
} from './archive/uploader.js';
export { verifyArchiveProofs } from './archive/proofs.js';
export { declaredGaps } from './archive/chain-recovery.js';
export { GAP_PROOF_OVERDUE_MS, GAP_PROOF_WAIT_MS } from './archive/gap-proofs.js';
export { disposedBuckets, type DisposedBucket } from './archive/disposed-buckets.js';
export type { DeclaredGap } from './archive/chain-recovery.js';
export { loadProfile } from './profile.js';
export type { DeviceProfile, PinnedLog } from './profile.js';
export { generatePrekeys } from './enrol/prekeys.js';
export { LocalSettings } from './local-settings.js';
export { OrgAdmin, USER_ROLES, sessionInfo } from './admin/org-admin.js';
export type {
  UserRole,
  SessionInfo,
  OrgUser,
  OrgDevice,
  IssuedCode,
  RetentionSource,
  RoleRetention,
} from './admin/org-admin.js';
export { RETENTION_CLASSES } from './enrol/org-keys.js';
export { safetyNumber } from './messaging/identity-review.js';
export type { PendingIdentityChange, PresentedIdentity } from './messaging/identity-review.js';
