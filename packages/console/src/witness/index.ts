/** The auditor's log witness: verify, compare and cosign an organisation's checkpoints. */
export { witnessLog } from './log-witness.js';
export type { WitnessOptions, WitnessOutcome, WitnessResult } from './log-witness.js';
export { httpLogSource } from './log-source.js';
export type { LogHead, LogSource } from './log-source.js';
export {
  formatWitnessState,
  parseWitnessState,
  readWitnessState,
  WITNESS_STATE_FORMAT,
  writeWitnessState,
} from './witness-state.js';
export type { WitnessState } from './witness-state.js';
export { createWitnessKey, loadWitnessKey } from './witness-key.js';
