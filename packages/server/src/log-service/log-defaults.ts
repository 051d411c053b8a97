/**
 * Named defaults of the log service, archive ingest and key distribution (style.md §9).
 * Durations are in milliseconds unless the name says otherwise.
 */

/** How often the integrator looks for sequenced entries (the bound: ≤ 250 ms). */
export const DEFAULT_INTEGRATION_INTERVAL_MS = 250;
/** Most entries one integration transaction takes per org, so one pass stays short. */
export const MAX_ENTRIES_PER_INTEGRATION = 100_000;
/**
 * Sequenced-but-unintegrated entries per org beyond which sequencing answers LOG_PUSHBACK
 * (about ten seconds of ingest at the target rate).
 */
export const DEFAULT_MAX_PENDING_ENTRIES = 250_000;
/** `Retry-After` seconds sent with LOG_PUSHBACK. */
export const PUSHBACK_RETRY_AFTER_SECONDS = 1;
/** Checkpoints listed per page of the checkpoint history route. */
export const CHECKPOINT_PAGE_MAX = 100;
/** `Cache-Control` of full tiles and full entry bundles: their bytes never change. */
export const IMMUTABLE_CACHE_CONTROL = 'public, max-age=31536000, immutable';
/** `Cache-Control` of partial tiles, bundles and the latest checkpoint: they are superseded quickly. */
export const SHORT_CACHE_CONTROL = 'public, max-age=1';
/** Actor recorded for acts authorised by the bootstrap token (no device exists yet). */
export const BOOTSTRAP_ACTOR = 'bootstrap';
