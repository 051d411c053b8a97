/**
 * The largest and smallest of many numbers. `Math.max(...xs)` passes every element as an
 * argument and throws RangeError ("Maximum call stack size exceeded") somewhere past ~125,000
 * of them on Node 20: a device with that many records, or an export of that many messages,
 * crashed the completeness check and the RSMF writer. These loop instead.
 */

/** The largest of `xs`, or -Infinity when there is none (as Math.max()). */
export function maxOf(xs: Iterable<number>): number {
  let m = Number.NEGATIVE_INFINITY;
  for (const x of xs) if (x > m || Number.isNaN(x)) m = x;
  return m;
}

/** The smallest of `xs`, or Infinity when there is none (as Math.min()). */
export function minOf(xs: Iterable<number>): number {
  let m = Number.POSITIVE_INFINITY;
  for (const x of xs) if (x < m || Number.isNaN(x)) m = x;
  return m;
}
