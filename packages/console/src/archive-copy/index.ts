/** The organisation's own verified copy of its sealed archive: taking it, and verifying it offline. */
export { takeArchiveCopy } from './take-copy.js';
export type { CopyOptions, CopyProgress, CopyResult } from './take-copy.js';
export { verifyArchiveCopy } from './verify-copy.js';
export type { CopyVerification, VerifyCopyOptions } from './verify-copy.js';
export { COPY_FORMAT, COPY_STATE_FILE, COPY_VERSION, parseCopyState } from './copy-files.js';
export type { CopyState, MissingRecord, RecordedDestruction, RecordedDisposal } from './copy-files.js';
export type { DestructionFinding, DisposalFinding } from './copy-dispositions.js';
