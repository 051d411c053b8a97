/**
 * Type guards for values read from JSON — server answers, profile and copy files, export
 * manifests — before anything trusts them. One definition, so every reader accepts exactly
 * the same numbers.
 */

/** True for a count, index or ms time: a safe, non-negative integer (never NaN, a float or a string). */
export const isUint = (v: unknown): v is number => typeof v === 'number' && Number.isSafeInteger(v) && v >= 0;
