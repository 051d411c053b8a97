/**
 * Schema-aware fuzz inputs for the route fuzzer: a fast-check arbitrary of values that match
 * a route's TypeBox (JSON Schema) body, and mutations of any JSON value that break it in the
 * ways attackers try — wrong types, missing and extra fields, oversized strings and arrays,
 * boundary numbers, awkward Unicode, and prototype-pollution keys.
 *
 * Used only by tests.
 */
import fc from 'fast-check';

/** A JSON Schema node as TypeBox builds it (only the keywords the routes use are read). */
type Schema = Readonly<Record<string, unknown>>;

/** Longest string or array a *valid* value gets: big inputs are the mutations' job. */
const VALID_SPREAD = 48;

const BASE64URL = [...'ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789-_'];

/** `^[A-Za-z0-9_-]*$`-style patterns: one character class repeated; returns its characters. */
function repeatedClass(pattern: string): string[] | null {
  const m = /^\^\[([^\]]+)\][*+]\$$/.exec(pattern);
  if (m === null) return null;
  const body = m[1]!;
  const out: string[] = [];
  for (let i = 0; i < body.length; i++) {
    const c = body[i]!;
    if (body[i + 1] === '-' && i + 2 < body.length) {
      for (let x = c.charCodeAt(0); x <= body.charCodeAt(i + 2); x++) out.push(String.fromCharCode(x));
      i += 2;
    } else out.push(c);
  }
  return out;
}

function num(s: Schema, key: string): number | undefined {
  const v = s[key];
  return typeof v === 'number' ? v : undefined;
}

function stringArbitrary(s: Schema): fc.Arbitrary<string> {
  const minLength = num(s, 'minLength') ?? 0;
  const maxLength = Math.min(num(s, 'maxLength') ?? minLength + VALID_SPREAD, minLength + VALID_SPREAD);
  const pattern = typeof s.pattern === 'string' ? s.pattern : undefined;
  if (pattern === undefined) {
    const unit = fc.oneof(
      fc.constantFrom('a', 'Z', '0', ' '),
      fc.string({ unit: 'grapheme', minLength: 1, maxLength: 1 }),
    );
    return fc.string({ minLength, maxLength, unit });
  }
  const chars = repeatedClass(pattern) ?? (pattern === '^[A-Za-z0-9_-]*$' ? BASE64URL : null);
  if (chars !== null) return fc.string({ minLength, maxLength, unit: fc.constantFrom(...chars) });
  return fc.stringMatching(new RegExp(pattern));
}

function integerArbitrary(s: Schema): fc.Arbitrary<number> {
  const lo = Math.max(num(s, 'minimum') ?? -(2 ** 40), Number.MIN_SAFE_INTEGER);
  const hi = Math.min(num(s, 'maximum') ?? 2 ** 40, Number.MAX_SAFE_INTEGER);
  const exLo = num(s, 'exclusiveMinimum');
  const exHi = num(s, 'exclusiveMaximum');
  const min = exLo === undefined ? lo : Math.max(lo, exLo + 1);
  const max = exHi === undefined ? hi : Math.min(hi, exHi - 1);
  const any = fc.bigInt({ min: BigInt(min), max: BigInt(max) }).map(Number);
  // Edges and small values are where handlers' own checks live.
  const small = { min: Math.max(min, 0), max: Math.min(max, 100) };
  return small.min <= small.max
    ? fc.oneof(any, fc.constantFrom(min, max), fc.integer(small))
    : fc.oneof(any, fc.constantFrom(min, max));
}

/** An arbitrary of values that match `schema` (best effort: unusual keywords fall back to any JSON). */
export function validArbitrary(schema: Schema): fc.Arbitrary<unknown> {
  if ('const' in schema) return fc.constant(schema.const);
  if (Array.isArray(schema.enum)) return fc.constantFrom(...(schema.enum as unknown[]));
  const union = (schema.anyOf ?? schema.oneOf) as Schema[] | undefined;
  if (Array.isArray(union)) return fc.oneof(...union.map(validArbitrary));
  switch (schema.type) {
    case 'string':
      return stringArbitrary(schema);
    case 'integer':
      return integerArbitrary(schema);
    case 'number':
      return fc.double({
        noNaN: true,
        noDefaultInfinity: true,
        min: num(schema, 'minimum') ?? -1e12,
        max: num(schema, 'maximum') ?? 1e12,
      });
    case 'boolean':
      return fc.boolean();
    case 'null':
      return fc.constant(null);
    case 'array': {
      const minLength = num(schema, 'minItems') ?? 0;
      const maxLength = Math.min(num(schema, 'maxItems') ?? minLength + 4, minLength + 4);
      const items = (schema.items ?? {}) as Schema;
      return fc.array(validArbitrary(items), { minLength, maxLength });
    }
    case 'object': {
      const props = (schema.properties ?? {}) as Record<string, Schema>;
      const required = (schema.required ?? []) as string[];
      const model: Record<string, fc.Arbitrary<unknown>> = {};
      for (const [k, v] of Object.entries(props)) model[k] = validArbitrary(v);
      return fc.record(model, { requiredKeys: required.filter((k) => k in props) });
    }
    default:
      return fc.jsonValue({ maxDepth: 2 });
  }
}

/** Property names that have hurt JavaScript servers before (prototype pollution, shadowing). */
export const HOSTILE_KEYS = [
  '__proto__',
  'constructor',
  'prototype',
  'toString',
  'hasOwnProperty',
  'valueOf',
  '',
  ' ',
  'a'.repeat(300),
  '\u0000',
];

/** Strings that break naive parsing, normalisation, logging or SQL. */
export const AWKWARD_STRINGS = [
  '',
  ' ',
  '\u0000',
  '\ud800',
  '\udfff',
  '\u202e\u0041',
  '\ufeff',
  'e\u0301\u0301\u0301',
  '👨‍👩‍👧‍👦',
  '../../etc/passwd',
  "'; DROP TABLE users; --",
  '%00',
  '%',
  '${7*7}',
  '\r\nX-Injected: 1',
  '0'.repeat(400),
  'x'.repeat(70_000),
];

/** Numbers at and past the edges of the integer ranges routes use. */
export const BOUNDARY_NUMBERS = [
  -1,
  0,
  -0,
  0.5,
  1.5,
  2 ** 31 - 1,
  2 ** 31,
  2 ** 32,
  2 ** 53 - 1,
  2 ** 53,
  2 ** 53 + 2,
  -(2 ** 53),
  1e308,
  -1e308,
  5e-324,
];

/** One change applied to a value at a node chosen by `at`. */
export interface Mutation {
  readonly kind:
    'wrong-type' | 'delete' | 'extra-key' | 'oversize' | 'boundary' | 'awkward-string' | 'null' | 'pollute';
  /** Chooses the node (modulo the node count). */
  readonly at: number;
  /** Chooses among the kind's candidates. */
  readonly pick: number;
}

/** An arbitrary of one to three mutations. */
export const mutationsArbitrary: fc.Arbitrary<Mutation[]> = fc.array(
  fc.record({
    kind: fc.constantFrom(
      'wrong-type',
      'delete',
      'extra-key',
      'oversize',
      'boundary',
      'awkward-string',
      'null',
      'pollute',
    ),
    at: fc.nat(),
    pick: fc.nat(),
  }),
  { minLength: 1, maxLength: 3 },
);

/** Replacement values; always cloned on use, so one mutation never aliases (or cycles into) another. */
const WRONG_TYPES: readonly unknown[] = [
  0,
  1,
  -1,
  'x',
  '',
  true,
  false,
  null,
  [],
  {},
  [1, 'a'],
  { a: 1 },
  1.5,
];

/** Sets an own enumerable property, even one called `__proto__` (a plain assignment would change the prototype). */
export function setOwn(obj: Record<string, unknown>, key: string, value: unknown): void {
  Object.defineProperty(obj, key, { value, enumerable: true, configurable: true, writable: true });
}

interface Slot {
  readonly parent: Record<string, unknown> | unknown[] | null;
  readonly key: string | number;
  readonly value: unknown;
}

function slots(root: { v: unknown }): Slot[] {
  const out: Slot[] = [{ parent: root, key: 'v', value: root.v }];
  const walk = (v: unknown): void => {
    if (Array.isArray(v)) {
      v.forEach((x, i) => {
        out.push({ parent: v, key: i, value: x });
        walk(x);
      });
    } else if (v !== null && typeof v === 'object') {
      for (const [k, x] of Object.entries(v)) {
        out.push({ parent: v as Record<string, unknown>, key: k, value: x });
        walk(x);
      }
    }
  };
  walk(root.v);
  return out;
}

function put(slot: Slot, value: unknown): void {
  if (Array.isArray(slot.parent)) slot.parent[slot.key as number] = value;
  else if (slot.parent !== null) setOwn(slot.parent, slot.key as string, value);
}

function oversized(v: unknown, pick: number): unknown {
  if (typeof v === 'string')
    return v.length === 0 ? 'A'.repeat(20_000) : v.repeat(Math.ceil(20_000 / v.length));
  if (Array.isArray(v))
    return Array.from({ length: [65, 257, 1001, 5000][pick % 4]! }, () => (v as unknown[])[0] ?? 0);
  if (typeof v === 'number') return pick % 2 === 0 ? Number.MAX_SAFE_INTEGER : -Number.MAX_SAFE_INTEGER;
  return 'B'.repeat(20_000);
}

/** Applies `mutations` to a deep copy of `value` and returns the copy. */
export function mutate(value: unknown, mutations: readonly Mutation[]): unknown {
  const root = { v: structuredClone(value) };
  for (const m of mutations) {
    const all = slots(root);
    const slot = all[m.at % all.length]!;
    switch (m.kind) {
      case 'wrong-type':
        put(slot, structuredClone(WRONG_TYPES[m.pick % WRONG_TYPES.length]));
        break;
      case 'delete':
        if (Array.isArray(slot.parent)) slot.parent.splice(slot.key as number, 1);
        else if (slot.parent !== null && slot.parent !== (root as unknown))
          delete slot.parent[slot.key as string];
        break;
      case 'extra-key': {
        const target = slot.value !== null && typeof slot.value === 'object' && !Array.isArray(slot.value);
        const obj = (target ? slot.value : root.v) as Record<string, unknown>;
        if (obj !== null && typeof obj === 'object' && !Array.isArray(obj)) {
          setOwn(
            obj,
            HOSTILE_KEYS[m.pick % HOSTILE_KEYS.length]!,
            structuredClone(WRONG_TYPES[m.pick % WRONG_TYPES.length]),
          );
        }
        break;
      }
      case 'oversize':
        put(slot, oversized(slot.value, m.pick));
        break;
      case 'boundary':
        put(slot, BOUNDARY_NUMBERS[m.pick % BOUNDARY_NUMBERS.length]);
        break;
      case 'awkward-string': {
        const s = AWKWARD_STRINGS[m.pick % AWKWARD_STRINGS.length]!;
        put(slot, typeof slot.value === 'string' && m.pick % 3 === 0 ? slot.value + s : s);
        break;
      }
      case 'null':
        put(slot, null);
        break;
      case 'pollute': {
        const poison: Record<string, unknown> = {};
        setOwn(poison, m.pick % 2 === 0 ? '__proto__' : 'constructor', {
          polluted: true,
          prototype: { polluted: true },
        });
        put(slot, poison);
        break;
      }
    }
  }
  return root.v;
}
