/** Retry delays with exponential backoff and full jitter (AWS architecture blog's "full jitter"). */

/** First retry delay. */
export const BACKOFF_BASE_MS = 250;
/** Longest delay between retries. */
export const BACKOFF_MAX_MS = 30_000;

/** Delay before retry number `attempt` (0-based): uniform in [base/2, min(max, base·2^attempt)]. */
export function backoffDelay(
  attempt: number,
  base = BACKOFF_BASE_MS,
  max = BACKOFF_MAX_MS,
  random: () => number = Math.random,
): number {
  const cap = Math.min(max, base * 2 ** Math.min(attempt, 30));
  return Math.round(base / 2 + random() * Math.max(0, cap - base / 2));
}

/** Resolves after `ms`. */
export function sleep(ms: number): Promise<void> {
  return new Promise((resolve) => setTimeout(resolve, ms));
}
