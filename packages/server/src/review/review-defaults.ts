/** Defaults of supervision review and the audit listing (docs/officers.md), in one place. */

/** Parts per million: sampling rates are whole parts per million. */
export const PPM = 1_000_000;
/**
 * Sampling rate of an org that never set one: 1 % of archived records (10,000 ppm). FINRA
 * 3110 asks for risk-based review, not a number; 1 % is a common floor for random review
 * beside lexicon hits. Officers change it with `custos console review sample-rate`.
 */
export const DEFAULT_SAMPLE_PPM = 10_000;
/** Bytes of an org's sampling secret (HMAC-SHA256 key). */
export const SAMPLE_SECRET_BYTES = 32;
/** Bytes of a review item's or rule's random id (same shape as every other id). */
export const ITEM_ID_BYTES = 16;
/** Most terms in one lexicon rule. */
export const MAX_RULE_TERMS = 32;
/** Most words (tokens) in one term (a phrase). */
export const MAX_TERM_TOKENS = 16;
/** Most buckets one rule carries tokens for. */
export const MAX_RULE_BUCKETS = 120;
/** Longest rule name. */
export const MAX_RULE_NAME = 64;
/** Most active lexicon rules per org. */
export const MAX_RULES = 500;
/** Largest sealed review note, in bytes (a note of a few KiB plus HPKE overhead). */
export const MAX_SEALED_NOTE_BYTES = 16_384;
/** Largest page of the audit listing. */
export const MAX_AUDIT_PAGE = 500;
/** Default page of the audit listing. */
export const DEFAULT_AUDIT_PAGE = 200;
