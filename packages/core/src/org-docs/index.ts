/** Public surface of core/org-docs: the signed organisation documents (docs/keys.md §2, §7). */
export {
  ORG_DOC_KEY_BYTES,
  ORG_DOC_SIGNATURE_BYTES,
  signedMessage,
  sealSignedDocument,
  splitSignedDocument,
  decodePayloadMap,
  verifyDocumentSignature,
  openSignedDocument,
} from './signed-document.js';
export type { OrgDocSigner, SplitDocument } from './signed-document.js';
export {
  KEY_MANAGER_DELEGATION_DOMAIN,
  checkValidityWindow,
  sealKeyManagerDelegation,
  openKeyManagerDelegation,
} from './key-manager-delegation.js';
export type { KeyManagerDelegation } from './key-manager-delegation.js';
export {
  BUCKET_KEY_DOMAIN,
  BUCKET_LATE_UPLOAD_GRACE_MS,
  BUCKET_RETENTION_CLASSES,
  BUCKET_PERIOD_PATTERN,
  sealBucketKeyDocument,
  openBucketKeyDocument,
  checkBucketWithinDelegation,
  verifyBucketKeyChain,
} from './bucket-key-document.js';
export type { BucketKeyDocument, BucketRetentionClass } from './bucket-key-document.js';
export {
  OFFICER_LIST_DOMAIN,
  MAX_OFFICERS,
  MIN_OFFICER_KEY_BYTES,
  MAX_OFFICER_KEY_BYTES,
  sealOfficerList,
  openOfficerList,
} from './officer-list.js';
export type { OfficerList, ListedOfficer } from './officer-list.js';
export { ROOT_KEY_DOMAIN, sealRootKeyStatement, openRootKeyStatement } from './root-key-statement.js';
export type { RootKeyStatement } from './root-key-statement.js';
export {
  STANDING_CRITERION_DOMAIN,
  sealStandingCriterion,
  openStandingCriterion,
} from './standing-criterion.js';
export type { SignedCriterion, CriterionSeal } from './standing-criterion.js';
export {
  OFFICER_DEVICE_BINDING_DOMAIN,
  sealOfficerDeviceBinding,
  openOfficerDeviceBinding,
} from './officer-device-binding.js';
export type { OfficerDeviceBinding } from './officer-device-binding.js';
export {
  ARCHIVE_POLICY_DOMAIN,
  ARCHIVE_POLICIES,
  MAX_ARCHIVE_POLICY_BYTES,
  MAX_ORG_NAME_LENGTH,
  isArchivePolicyName,
  sealArchivePolicy,
  openArchivePolicy,
} from './archive-policy.js';
export type { ArchivePolicyName, ArchivePolicyStatement } from './archive-policy.js';
