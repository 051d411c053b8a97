/** Public surface of core/blind-index. */
export { BLIND_TOKEN_LENGTH, isBlindTokenBytes } from './blind-token.js';
export type { BlindToken } from './blind-token.js';
