/** Public surface of core/sign: what devices sign with their Signal identity keys — record batches and gap declarations. */
export {
  signBatch,
  verifyBatch,
  encodeBatchMessage,
  BATCH_SIGNATURE_DOMAIN,
  BATCH_SIGNATURE_LENGTH,
  IDENTITY_PUBLIC_KEY_LENGTH,
} from './batch-signature.js';
export type { RecordBatch } from './batch-signature.js';
export {
  signGapDeclaration,
  chainAnchorAfterGap,
  verifyGapDeclaration,
  decodeGapDeclaration,
  encodeGapMessage,
  isGapReason,
  GAP_DECLARATION_DOMAIN,
  GAP_REASONS,
  MAX_GAP_DECLARATION_BYTES,
} from './gap-declaration.js';
export type { GapDeclaration, GapReason } from './gap-declaration.js';
