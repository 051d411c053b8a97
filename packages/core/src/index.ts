/**
 * @custos/core — pure code, no I/O: record format, sealing, signatures, blind index,
 * key shares, the Merkle log, signed notes and checkpoints.
 */
export { CustosError, isCustosError } from './errors.js';
export type { CustosErrorCode } from './errors.js';
