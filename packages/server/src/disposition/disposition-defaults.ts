/** Sizes and budgets of disposition work (docs/officers.md "Retention and disposition"). */

/** Records read per page when a plan is made. */
export const PLAN_PAGE_RECORDS = 50_000;
/** Records deleted per transaction (a step; its progress commits with it). */
export const RECORDS_PER_STEP = 50_000;
/** Posting rows read per transaction. */
export const POSTINGS_PER_STEP = 20_000;
/** Wrapped session keys read per page when a bucket's keys are destroyed. */
export const SESSION_KEY_PAGE = 1_000;
/** How long one execute request works before answering with its progress (the console calls again). */
export const EXECUTE_BUDGET_MS = 10_000;
/** Buckets listed per page when a plan is made. */
export const BUCKET_PAGE = 200;
