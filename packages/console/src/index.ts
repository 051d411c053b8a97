/** @custos/console — the officer SDK: key ceremony, profiles, quorum unlock, bucket keys (docs/ceremony.md). */
export { runCeremony } from './run-ceremony.js';
export type {
  CeremonyOptions,
  CeremonyProgress,
  CeremonyProgressEvent,
  CeremonyResult,
} from './ceremony-options.js';
export { ConsoleError, isConsoleError, CONSOLE_ERROR_CODES } from './console-error.js';
export type { ConsoleErrorCode } from './console-error.js';
export { loadOfficerProfile, verifyOrgFile } from './officer-profile.js';
export type { OfficerProfile } from './officer-profile.js';
export { unlockRoot, unwrapWithRoot } from './unlock-root.js';
export type { RootKeys, ShareFileInput } from './unlock-root.js';
export {
  parseBucketKeyWrap,
  unwrapBucketKey,
  wrapBucketKey,
  officerRecipient,
  BUCKET_KEY_WRAP_INFO,
} from './bucket-key-wrap.js';
export type { BucketKeyWrapInfo, UnwrappedBucketKey, WrapRecipient } from './bucket-key-wrap.js';
export { decodeOfficerPublicKey, encodeOfficerPublicKey, openOfficerKeyFile } from './officer-keys.js';
export type { OfficerKeys, OfficerPublicKey } from './officer-keys.js';
export { keyFingerprint, SigningKey, verifyEd25519 } from './signing-key.js';
export { x25519PublicKeyOf } from './hpke-box.js';
export { ceremonyBuckets, delegationWindow, monthlyPeriods } from './bucket-periods.js';
export type { BucketPeriod, BucketPlan } from './bucket-periods.js';
export { ceremonyLayout, CEREMONY_SECRET_KINDS } from './ceremony-layout.js';
export type { CeremonyLayout } from './ceremony-layout.js';
export { readProfileFile } from './profile-files.js';
export type {
  AdminProfileFile,
  OfficerBucketKeysFile,
  OfficerProfileFile,
  OrgFile,
  OrgFileBucket,
} from './profile-files.js';
export { openOfficerSession } from './officer-session.js';
export type {
  OfficerSession,
  OfficerSessionOptions,
  VerifiedOrgKeys,
  VerifiedServerBucket,
} from './officer-session.js';
export { enrolOfficerDevice, OfficerDevice, OFFICER_DEVICE_FILE } from './officer-device.js';
export type { OfficerEnrolment } from './officer-device.js';
export {
  bucketInventory,
  bucketState,
  findOfficerWrap,
  openBucketKey,
  serverWraps,
} from './bucket-inventory.js';
export type { BucketStatus, WrapSource } from './bucket-inventory.js';
export {
  aheadPlan,
  generateBucketsAhead,
  MAX_AHEAD_MONTHS,
  PENDING_BUCKETS_DIR,
} from './bucket-generation.js';
export type { AheadOptions, AheadResult } from './bucket-generation.js';
export { grantIndexKeys } from './index-key-grants.js';
export type {
  IndexKeyGrant,
  IndexKeyGrantResult,
  RefusedIndexKey,
  SealIndexKey,
} from './index-key-grants.js';
export {
  DEFAULT_DELEGATION_DAYS,
  extendedDelegationEnd,
  MAX_DELEGATION_DAYS,
  reissueDelegation,
} from './delegation-reissue.js';
export type { ReissuedDelegation } from './delegation-reissue.js';
export { rotateKeyManager } from './key-manager-rotation.js';
export type { KeyManagerRotated } from './key-manager-rotation.js';
export { buildDelegationChain, verifyBucketUnderChain } from './key-manager-chain.js';
export type { DelegationLink, ChainVerifiedBucket } from './key-manager-chain.js';
export { wrapKeyManagerKey, unwrapKeyManagerKey } from './key-manager-wrap.js';
export { addOfficer, removeOfficer } from './officer-change.js';
export type { OfficerChangeOptions, OfficerChangeResult } from './officer-change.js';
export { unwrapIndexKeyBytes } from './bucket-key-wrap.js';
export * from './defaults.js';
export * from './witness/index.js';
export * from './export/index.js';
/** Test and bench archives built with real crypto (not for production use). */
export * as exportTesting from './export/export-test-support.js';
export * from './search/index.js';
export * from './completeness/index.js';
export * from './disposition/index.js';
export * from './review/index.js';
export * from './audit/index.js';
export * from './holds/index.js';
export * from './archive-copy/index.js';
export { extendStandingCriteria } from './standing-criteria.js';
export type { ExtendedCriteria } from './standing-criteria.js';
export { resealStandingCriteria } from './standing-criteria-reseal.js';
export type { ResealedCriterion, SkippedCriterion } from './standing-criteria-reseal.js';
export { openCriterion, sealCriterion } from './standing-criterion-seal.js';
export type { Criterion } from './standing-criterion-seal.js';
export { openSignedOfficerList, refreshOfficerList } from './officer-list-refresh.js';
export { checkOfficerListInLog } from './officer-list-freshness.js';
export type { OfficerListInLog } from './officer-list-freshness.js';
export { refreshRootKey } from './root-key-statement.js';
export { rotateRootKey } from './root-key-rotation.js';
export type { RootKeyRotated, RootRotationOptions } from './root-key-rotation.js';
export type { AdoptedOfficerList, SignedOfficerList } from './officer-list-refresh.js';
