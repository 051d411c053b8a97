/**
 * The one error class of `core`. Every failure carries a code from a closed union so
 * callers (and the server's HTTP mapping) can switch on it; messages say what was wrong
 * and MUST NOT contain key material, plaintext or tokens.
 */

/** Every error code `core` can raise. Add new codes here, never ad hoc strings. */
export const CUSTOS_ERROR_CODES = [
  // generic input problems
  'INVALID_ARGUMENT',
  'MALFORMED_INPUT',
  'OVERSIZED_INPUT',
  'UNSUPPORTED_VERSION',
  // Merkle log
  'INVALID_PROOF',
  'INVALID_TREE_SIZE',
  'INVALID_LEAF_INDEX',
  'INCONSISTENT_TREE',
  'MISSING_HASH',
  // notes, checkpoints, cosignatures, receipts
  'MALFORMED_NOTE',
  'MALFORMED_VERIFIER_KEY',
  'MALFORMED_CHECKPOINT',
  'MALFORMED_TILE',
  'MALFORMED_BUNDLE',
  'MALFORMED_RECEIPT',
  'MALFORMED_LOG_ENTRY',
  'SIGNATURE_INVALID',
  'UNKNOWN_KEY',
  // records, sealing, signatures
  'MALFORMED_RECORD',
  'DECRYPTION_FAILED',
  'HASH_MISMATCH',
  'CHAIN_BROKEN',
  // key shares
  'MALFORMED_SHARE',
  'WRONG_PASSPHRASE',
  'SHARES_INSUFFICIENT',
] as const;

/** A code from the closed set above. */
export type CustosErrorCode = (typeof CUSTOS_ERROR_CODES)[number];

/** An error from `core`, with a stable code and an optional cause. */
export class CustosError extends Error {
  override readonly name = 'CustosError';
  readonly code: CustosErrorCode;

  constructor(code: CustosErrorCode, message: string, options?: { cause?: unknown }) {
    super(message, options);
    this.code = code;
  }
}

/** True when `e` is a {@link CustosError}, optionally with the given code. */
export function isCustosError(e: unknown, code?: CustosErrorCode): e is CustosError {
  return e instanceof CustosError && (code === undefined || e.code === code);
}
