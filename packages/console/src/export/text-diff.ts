/**
 * Locating the first difference between what the sealed records produce and what an export
 * holds, so that `custos verify` can name the field (text-binding.ts): a path into two
 * JSON values, and the first differing line of two texts.
 */

/** The path (`a.b[2].c`) of the first difference between two JSON values; undefined when equal. */
export function firstJsonDiff(want: unknown, got: unknown, path = ''): string | undefined {
  if (Array.isArray(want) && Array.isArray(got)) {
    for (let i = 0; i < Math.max(want.length, got.length); i++) {
      const d = firstJsonDiff(want[i], got[i], `${path}[${i}]`);
      if (d !== undefined) return d;
    }
    return undefined;
  }
  const isObj = (v: unknown): v is Record<string, unknown> =>
    typeof v === 'object' && v !== null && !Array.isArray(v);
  if (isObj(want) && isObj(got)) {
    const wk = Object.keys(want);
    const gk = Object.keys(got);
    for (const k of [...wk, ...gk.filter((k) => !(k in want))]) {
      const d = firstJsonDiff(want[k], got[k], path === '' ? k : `${path}.${k}`);
      if (d !== undefined) return d;
    }
    // Same keys and values in another order: the bytes differ, the content does not.
    if (wk.join('\n') !== gk.join('\n')) return path === '' ? '(key order)' : `${path} (key order)`;
    return undefined;
  }
  return JSON.stringify(want) === JSON.stringify(got) ? undefined : path === '' ? '(value)' : path;
}

/** Index (0-based) of the first differing line of two texts; undefined when equal. */
export function firstLineDiff(want: string, got: string): number | undefined {
  if (want === got) return undefined;
  const w = want.split('\n');
  const g = got.split('\n');
  for (let i = 0; i < Math.max(w.length, g.length); i++) if (w[i] !== g[i]) return i;
  return undefined;
}

/** The leading index of a path such as `events[3].body` under `prefix` (`events`), or undefined. */
export function indexIn(path: string, prefix: string): number | undefined {
  const m = new RegExp(`^${prefix.replace(/[.[\]]/g, '\\$&')}\\[(\\d+)\\]`).exec(path);
  return m === null ? undefined : Number(m[1]);
}

/** True when two byte strings are equal. */
export const sameBytes = (a: Uint8Array, b: Uint8Array): boolean =>
  a.length === b.length &&
  Buffer.compare(
    Buffer.from(a.buffer, a.byteOffset, a.length),
    Buffer.from(b.buffer, b.byteOffset, b.length),
  ) === 0;
