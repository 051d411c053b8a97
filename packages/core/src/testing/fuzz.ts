/**
 * A small mutation fuzzer for parsers, shared by every `*.fuzz.test.ts`.
 *
 * It feeds a parser random bytes and mutations of valid seeds (bit flips, byte
 * replacements, truncations, insertions, duplications, splices of two seeds) and checks
 * the one property every Custos parser promises: it returns, or it throws a
 * {@link CustosError}. A raw TypeError/RangeError, any other exception, or an input slower
 * than `maxMillisPerCall` on its first call and on each retry fails the run.
 *
 * Not part of the package's public surface; used only by tests.
 */
import fc from 'fast-check';
import { CustosError } from '../errors.js';

/** Options for {@link fuzzParser}. */
export interface FuzzOptions {
  /** Number of mutated inputs to try after the seeds; defaults to CUSTOS_FUZZ_RUNS or 3,000. */
  readonly runs?: number;
  /** Seed for the pseudo-random generator, so a failure can be replayed. */
  readonly seed?: number;
  /** A single call slower than this counts as a hang. */
  readonly maxMillisPerCall?: number;
  /** Largest random input length. */
  readonly maxLength?: number;
}

/** What a fuzz run found: `failures` is empty when the parser kept its promise. */
export interface FuzzReport {
  readonly runs: number;
  readonly accepted: number;
  readonly rejected: number;
  readonly failures: readonly { readonly input: Uint8Array; readonly error: string }[];
}

/** xorshift32: deterministic, fast, good enough to pick mutations. */
function rng(seed: number): () => number {
  let s = seed >>> 0 || 0x9e3779b9;
  return () => {
    s ^= s << 13;
    s >>>= 0;
    s ^= s >>> 17;
    s ^= s << 5;
    s >>>= 0;
    return s;
  };
}

/** Default run count: CUSTOS_FUZZ_RUNS from the environment (`npm run fuzz` sets 1,000,000), else 3,000. */
export function defaultFuzzRuns(): number {
  const env = (globalThis as { process?: { env?: Record<string, string | undefined> } }).process?.env
    ?.CUSTOS_FUZZ_RUNS;
  const n = env === undefined ? NaN : Number(env);
  return Number.isSafeInteger(n) && n > 0 ? n : 3000;
}

function mutate(next: () => number, seeds: readonly Uint8Array[], maxLength: number): Uint8Array {
  const pick = (n: number): number => (n <= 0 ? 0 : next() % n);
  if (seeds.length === 0 || pick(8) === 0) {
    const out = new Uint8Array(pick(maxLength + 1));
    for (let i = 0; i < out.length; i++) out[i] = next() & 0xff;
    return out;
  }
  let buf: Uint8Array = Uint8Array.from(seeds[pick(seeds.length)]!);
  const rounds = 1 + pick(4);
  for (let r = 0; r < rounds; r++) {
    switch (pick(8)) {
      case 0: // flip one bit
        if (buf.length > 0) buf[pick(buf.length)]! ^= 1 << pick(8);
        break;
      case 1: // replace one byte with an interesting value
        if (buf.length > 0) buf[pick(buf.length)] = [0, 0xff, 0x7f, 0x80, 0x0a, 0x20, 0x2b, 0x2f][pick(8)]!;
        break;
      case 2: // truncate
        buf = buf.slice(0, pick(buf.length + 1));
        break;
      case 3: {
        // insert random bytes
        const at = pick(buf.length + 1);
        const ins = new Uint8Array(1 + pick(16));
        for (let i = 0; i < ins.length; i++) ins[i] = next() & 0xff;
        buf = concat(buf.slice(0, at), ins, buf.slice(at));
        break;
      }
      case 4: {
        // duplicate a slice
        const a = pick(buf.length + 1);
        const b = a + pick(buf.length - a + 1);
        buf = concat(buf.slice(0, b), buf.slice(a, b), buf.slice(b));
        break;
      }
      case 5: {
        // delete a slice
        const a = pick(buf.length + 1);
        const b = a + pick(Math.min(16, buf.length - a) + 1);
        buf = concat(buf.slice(0, a), buf.slice(b));
        break;
      }
      case 6: {
        // splice with another seed
        const other = seeds[pick(seeds.length)]!;
        buf = concat(buf.slice(0, pick(buf.length + 1)), other.slice(pick(other.length + 1)));
        break;
      }
      default: // replace with a random digit/ASCII character (hits text formats)
        if (buf.length > 0) buf[pick(buf.length)] = 0x20 + pick(0x5f);
    }
  }
  return buf.length > maxLength * 4 ? buf.slice(0, maxLength * 4) : buf;
}

function concat(...parts: readonly Uint8Array[]): Uint8Array {
  const out = new Uint8Array(parts.reduce((n, p) => n + p.length, 0));
  let off = 0;
  for (const p of parts) {
    out.set(p, off);
    off += p.length;
  }
  return out;
}

/** Retries before a slow call counts as a hang: a real hang repeats, a scheduling pause on a busy machine does not. */
const HANG_RETRIES = 2;

/** True when `input` is slower than `maxMillis` on each of {@link HANG_RETRIES} more tries. */
function slowEveryTime(parse: (input: Uint8Array) => unknown, input: Uint8Array, maxMillis: number): boolean {
  for (let i = 0; i < HANG_RETRIES; i++) {
    const start = Date.now();
    try {
      parse(input);
    } catch {
      // The outcome was judged on the first call; only the time matters here.
    }
    if (Date.now() - start <= maxMillis) return false;
  }
  return true;
}

/**
 * Runs `parse` over random and mutated inputs. Returns a report; the caller asserts that
 * `failures` is empty (and usually that some inputs were accepted, to show the seeds are
 * valid and the mutations reach deep code).
 */
export function fuzzParser(
  parse: (input: Uint8Array) => unknown,
  seeds: readonly Uint8Array[],
  options: FuzzOptions = {},
): FuzzReport {
  const runs = options.runs ?? defaultFuzzRuns();
  const next = rng(options.seed ?? 0xc057_05);
  const maxMillis = options.maxMillisPerCall ?? 250;
  const maxLength = options.maxLength ?? 512;
  let accepted = 0;
  let rejected = 0;
  const failures: { input: Uint8Array; error: string }[] = [];
  // Inputs are made one at a time: a million-case run must not hold a million inputs.
  const total = seeds.length + runs;
  let tried = 0;
  while (tried < total) {
    const input = tried < seeds.length ? seeds[tried]! : mutate(next, seeds, maxLength);
    tried++;
    const start = Date.now();
    try {
      parse(input);
      accepted++;
    } catch (e) {
      if (e instanceof CustosError) rejected++;
      else failures.push({ input, error: e instanceof Error ? `${e.name}: ${e.message}` : String(e) });
    }
    const took = Date.now() - start;
    if (took > maxMillis && slowEveryTime(parse, input, maxMillis)) {
      failures.push({ input, error: `took ${took} ms (limit ${maxMillis} ms, on every retry)` });
    }
    if (failures.length >= 10) break;
  }
  return { runs: tried, accepted, rejected, failures };
}

/** Encodes text as UTF-8 bytes, for text-format seeds. */
export function utf8(text: string): Uint8Array {
  return new TextEncoder().encode(text);
}

/**
 * fast-check inputs for a signed document's reader (tests only): `seed` with up to four bytes
 * replaced, and one time in four cut short — the mutations every `*.fuzz.test.ts` of a signed
 * format used to define for itself.
 */
export function mutationsOf(seed: Uint8Array): fc.Arbitrary<Uint8Array> {
  return fc
    .tuple(fc.array(fc.tuple(fc.nat(), fc.integer({ min: 0, max: 255 })), { maxLength: 4 }), fc.nat())
    .map(([edits, cut]) => {
      const b = Uint8Array.from(seed);
      for (const [at, v] of edits) if (b.length > 0) b[at % b.length] = v;
      return cut % 4 === 0 ? b.subarray(0, cut % (b.length + 1)) : b;
    });
}

/**
 * Values of every CBOR shape a payload could hold instead of the expected map — null,
 * booleans, integers, floats, text, bytes, arrays, maps of any of these, nested — so a fuzz
 * that signs them reaches the field checks behind a signature (a signed `null` once raised a
 * TypeError there).
 */
export const cborShapes: fc.Arbitrary<unknown> = fc.letrec((tie) => ({
  leaf: fc.oneof(
    fc.constant(null),
    fc.boolean(),
    fc.integer(),
    fc.maxSafeNat(),
    fc.double({ noNaN: true, noDefaultInfinity: true }),
    fc.string({ maxLength: 40 }),
    fc.uint8Array({ maxLength: 80 }),
  ),
  node: fc.oneof(
    { depthSize: 'small' },
    tie('leaf'),
    fc.array(tie('node'), { maxLength: 4 }),
    fc.dictionary(fc.string({ maxLength: 8 }), tie('node'), { maxKeys: 5 }),
  ),
})).node;
