/** Public surface of core/sign: batch signatures over record hashes with Signal identity keys. */
export {
  signBatch,
  verifyBatch,
  encodeBatchMessage,
  BATCH_SIGNATURE_DOMAIN,
  BATCH_SIGNATURE_LENGTH,
  IDENTITY_PUBLIC_KEY_LENGTH,
} from './batch-signature.js';
export type { RecordBatch } from './batch-signature.js';
