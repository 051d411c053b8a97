/**
 * A direct deterministic-CBOR writer for record bodies. Every event a device sends is
 * encoded inside its send transaction (client archive capture), so this is on the send
 * path: the general encoder (cborg with RFC 8949 options: a token tree, then sorting every
 * map's entries by their encoded keys) cost most of capture's time there.
 *
 * It writes exactly the bytes {@link encodeDeterministic} writes for the same map — a
 * property test compares the two — for the values a checked body map holds: text, unsigned
 * safe integers, booleans, byte strings, lists and maps. Map keys come out in RFC 8949
 * §4.2.1 order (bytewise over their encodings: shorter keys first), fixed once per schema.
 * Invariant: call it only on a map body.ts's schema check accepted (anything else throws).
 */
import { CborWriter, compareBytes } from './cbor-fast.js';

const FALSE = new Uint8Array([0xf4]);
const TRUE = new Uint8Array([0xf5]);
/** First guess at a body's size; the writer grows for long texts. */
const INITIAL_CAPACITY = 512;

/** `keys` in RFC 8949 §4.2.1 order (by their CBOR text encodings, bytewise). */
export function canonicalKeyOrder(keys: readonly string[]): readonly string[] {
  const enc = (k: string): Uint8Array => new CborWriter(16).text(k).finish();
  return [...keys].sort((a, b) => compareBytes(enc(a), enc(b)));
}

function writeValue(w: CborWriter, v: unknown, mapKeys: readonly string[] | undefined): void {
  if (typeof v === 'string') w.text(v);
  else if (typeof v === 'number') {
    if (!Number.isSafeInteger(v) || v < 0) throw new TypeError('body writer: not an unsigned safe integer');
    w.uint(v);
  } else if (typeof v === 'boolean') w.raw(v ? TRUE : FALSE);
  else if (v instanceof Uint8Array) w.bytes(v);
  else if (Array.isArray(v)) {
    w.head(4, v.length);
    for (const x of v) writeValue(w, x, mapKeys);
  } else if (typeof v === 'object' && v !== null && mapKeys !== undefined) {
    writeMap(w, v as Record<string, unknown>, mapKeys, undefined);
  } else throw new TypeError('body writer: a value it does not encode');
}

/**
 * Writes map `m`, whose keys are all among `order` (canonical order), present keys only;
 * nested maps (in lists) are written with `nestedOrder`.
 */
function writeMap(
  w: CborWriter,
  m: Readonly<Record<string, unknown>>,
  order: readonly string[],
  nestedOrder: readonly string[] | undefined,
): void {
  let n = 0;
  for (const k of order) if (m[k] !== undefined) n++;
  if (n !== Object.keys(m).length) throw new TypeError('body writer: a map key outside the schema');
  w.head(5, n);
  for (const k of order) {
    const v = m[k];
    if (v === undefined) continue;
    w.text(k);
    writeValue(w, v, nestedOrder);
  }
}

/** Writes checked body maps with a fixed key order for the body and for its nested maps. */
export class BodyWriter {
  readonly #order: readonly string[];
  readonly #nestedOrder: readonly string[];
  readonly #w = new CborWriter(INITIAL_CAPACITY);

  /** `bodyKeys`: every key a body map may hold; `nestedKeys`: every key of a map inside its lists. */
  constructor(bodyKeys: readonly string[], nestedKeys: readonly string[]) {
    this.#order = canonicalKeyOrder(bodyKeys);
    this.#nestedOrder = canonicalKeyOrder(nestedKeys);
  }

  /** The deterministic CBOR encoding of `m` (a fresh copy: the writer's buffer is reused). */
  encode(m: Readonly<Record<string, unknown>>): Uint8Array {
    const w = this.#w.reset();
    writeMap(w, m, this.#order, this.#nestedOrder);
    // A copy (finish() is a Buffer view, whose slice() would be a view too).
    return new Uint8Array(w.finish());
  }
}
