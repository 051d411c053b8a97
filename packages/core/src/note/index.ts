/**
 * Public surface of core/note: C2SP signed notes, verifier and signer keys, tlog
 * checkpoints, tlog-cosignature v1 and tlog-proof@v1 receipts.
 */
export { MAX_NOTE_BYTES, MAX_NOTE_SIGNATURES, MAX_PROOF_HASHES, MAX_RECEIPT_BYTES } from './limits.js';
export {
  SIGNATURE_TYPE_ED25519,
  SIGNATURE_TYPE_COSIGNATURE_V1,
  computeKeyId,
  formatKeyId,
  type KeyId,
  type SignatureType,
} from './key-id.js';
export { isValidKeyName, type TextInput } from './note-text.js';
export {
  parseVerifierKey,
  formatVerifierKey,
  verifierKeyFromKeyObject,
  type VerifierKey,
} from './verifier-key.js';
export {
  Ed25519NoteSigner,
  parseSignerKey,
  formatSignerKey,
  generateSignerKey,
  type NoteSigner,
  type GeneratedSignerKey,
} from './signer.js';
export {
  createNoteVerifier,
  NoteVerifierSet,
  type NoteVerifier,
  type VerifiedSignature,
  type VerifiersInput,
} from './verifier.js';
export {
  parseNote,
  formatNote,
  signNote,
  openNote,
  keyLabel,
  type NoteSignature,
  type SignedNote,
  type ParsedNote,
  type OpenedNote,
} from './signed-note.js';
export {
  TREE_HASH_BYTES,
  parseCheckpoint,
  formatCheckpoint,
  signCheckpoint,
  openCheckpoint,
  cosignCheckpoint,
  type Checkpoint,
  type OpenedCheckpoint,
} from './checkpoint.js';
export {
  COSIGNATURE_V1_BYTES,
  CosignatureSigner,
  cosignatureMessage,
  systemSecondsClock,
  type SecondsClock,
} from './cosignature.js';
export {
  RECEIPT_HEADER,
  parseReceipt,
  formatReceipt,
  verifyReceipt,
  type Receipt,
  type VerifiedReceipt,
} from './receipt.js';
export { formatLogOrigin, parseLogOrigin, type LogOriginParts } from './log-origin.js';
