/**
 * @custos/core — pure code, no I/O: record format, sealing, signatures, blind index,
 * key shares, the Merkle log, signed notes and checkpoints.
 */
export { CustosError, isCustosError, CUSTOS_ERROR_CODES } from './errors.js';
export type { CustosErrorCode } from './errors.js';
export * from './tlog/index.js';
export * from './note/index.js';
export * from './log-entry/index.js';
export * from './record/index.js';
export * from './seal/index.js';
export * from './sign/index.js';
export * from './blind-index/index.js';
export * from './shares/index.js';
export * from './disposition/index.js';
export * from './completeness/index.js';
export * from './relay-frames/index.js';
export * from './org-docs/index.js';
