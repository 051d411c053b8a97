/** Defaults of the completeness report (docs/officers.md, "Completeness and alerts"), in one place. */

/** A device with no archive record for this long is reported silent, unless the org sets another policy. */
export const DEFAULT_SILENT_AFTER_MS = 7 * 24 * 3_600_000;
/** A relay receipt younger than this is not yet expected to have its archive records (recipients may be offline). */
export const DEFAULT_RECEIPT_GRACE_MS = 24 * 3_600_000;
/** Shortest and longest silence policy an org may set (1 hour … 1 year). */
export const SILENT_AFTER_RANGE_MS = { min: 3_600_000, max: 366 * 24 * 3_600_000 } as const;
/** Longest receipt grace an org may set (30 days); 0 is allowed (tests, strict orgs). */
export const MAX_RECEIPT_GRACE_MS = 30 * 24 * 3_600_000;
/** Most devices a report lists (pages of the device store are read up to this). */
export const MAX_REPORT_DEVICES = 100_000;
/** Most gaps a report lists; more are summarised by `gapsTruncated`. */
export const MAX_REPORT_GAPS = 10_000;
/** Most alert acts one alerts answer lists. */
export const MAX_ALERTS = 1_000;
