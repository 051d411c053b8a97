/** Public surface of core/shares: Shamir splitting and passphrase-protected share files (docs/key-shares.md). */
export {
  checkKeyShare,
  combineShares,
  MAX_SECRET_LENGTH,
  MAX_SHARES,
  requireQuorum,
  SHARE_CHECKSUM_LENGTH,
  splitSecret,
} from './split.js';
export type { KeyShare, ShareQuorumFields } from './split.js';
export {
  checkScryptParams,
  DEFAULT_SCRYPT_PARAMS,
  MAX_SCRYPT_LOG2_N,
  MAX_SCRYPT_MEMORY,
  MIN_SCRYPT_LOG2_N,
} from './scrypt-params.js';
export type { KdfPolicy, ScryptParams } from './scrypt-params.js';
export {
  formatShareFile,
  MAX_SHARE_FILE_SIZE,
  parseShareFile,
  SHARE_FILE_FORMAT,
  SHARE_FILE_VERSION,
  SHARE_SECRET_KINDS,
} from './share-file-format.js';
export type { ShareFile, ShareFileMetadata, ShareSecretKind } from './share-file-format.js';
export {
  MIN_PASSPHRASE_LENGTH,
  openShareFile,
  openShareFileSync,
  sealShareFile,
  sealShareFileSync,
} from './share-file.js';
export type { OpenedShareFile, SealShareOptions } from './share-file.js';
