/**
 * Type guards for values read from JSON — server answers, profile and copy files, export
 * manifests — before anything trusts them. One definition, so every reader accepts exactly
 * the same numbers.
 */

/** True for a count, index or ms time: a safe, non-negative integer (never NaN, a float or a string). */
export const isUint = (v: unknown): v is number => typeof v === 'number' && Number.isSafeInteger(v) && v >= 0;

/** Latest instant a JavaScript Date can show (ms): `new Date(ms).toISOString()` throws past it. */
export const MAX_DATE_MS = 8.64e15;
/** True for an ms time a Date can show: a count no later than {@link MAX_DATE_MS}. */
export const isDateMs = (v: unknown): v is number => isUint(v) && v <= MAX_DATE_MS;
