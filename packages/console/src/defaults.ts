/** Named defaults of the officer console and the key ceremony (style.md §9). */

/** Retention classes the ceremony creates bucket keys for (server RETENTION_CLASSES). */
export const RETENTION_CLASSES = ['transitory', 'standard', 'permanent'] as const;
/** A retention class. */
export type RetentionClass = (typeof RETENTION_CLASSES)[number];

/** Monthly periods the ceremony creates bucket keys for: the current month and the next. */
export const CEREMONY_BUCKET_MONTHS = 2;
/**
 * Months the first key-manager delegation is valid, counted from the start of the current
 * month (UTC). It must cover every bucket window the key manager signs; a year of routine work
 * and the ceremony month, after which a quorum signs a new delegation.
 */
export const DELEGATION_VALIDITY_MONTHS = 13;

/** Smallest officer count at the ceremony (Shamir needs n ≥ 2). */
export const MIN_OFFICERS = 2;
/**
 * Largest officer count at the ceremony: the server's org-creation limit (server
 * config/defaults.ts MAX_OFFICERS; the create request carries every officer's key within
 * ORG_CREATE_BODY_LIMIT_BYTES). Deliberately not core's officer-list bound (MAX_OFFICERS =
 * 100 in org-docs/officer-list.ts): officer indexes are never reused (`org officers add`
 * takes the next one), so a later list's indexes, and its size, may pass 32.
 */
export const MAX_OFFICERS = 32;

/** Mode of folders that hold key material: owner only. */
export const PRIVATE_DIR_MODE = 0o700;
/** Mode of files that hold key material or secrets (encrypted or not): owner read/write only. */
export const PRIVATE_FILE_MODE = 0o600;

/** Suffix of the staging folder written next to `--out` while a ceremony runs. */
export const STAGING_SUFFIX = '.ceremony-staging';

/** Longest organisation name (server limit). */
export const MAX_ORG_NAME_LENGTH = 200;
