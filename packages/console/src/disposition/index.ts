/** Disposition of expired buckets from the officer's console (docs/officers.md). */
export {
  approveDisposition,
  certifiedApprovers,
  executeDisposition,
  getDisposition,
  proposeDisposition,
  verifiedApprovers,
} from './officer-disposition.js';
export type { DispositionView, ProposedDisposition, WaitingBucket } from './officer-disposition.js';
