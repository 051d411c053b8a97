/**
 * Fuzz requests for one route: schema-aware bodies (valid-shaped, then mutated), mutated path
 * parameters and query strings, and raw malformed bytes with right and wrong content types.
 * Built from the route's own schemas and its fixture (a valid request), so most requests get
 * past routing and authentication and into validation and the handler.
 *
 * Used only by tests.
 */
import fc from 'fast-check';
import { DEFAULT_BODY_LIMIT_BYTES } from '../config/defaults.js';
import type { AnyRoute } from '../http/route-def.js';
import type { RouteRequest } from './route-fixtures.js';
import {
  AWKWARD_STRINGS,
  HOSTILE_KEYS,
  mutate,
  mutationsArbitrary,
  validArbitrary,
} from './schema-arbitrary.js';

/** One request the fuzzer sends; `what` says how it was made (for failure reports). */
export interface FuzzRequest {
  readonly method: RouteRequest['method'];
  readonly url: string;
  readonly payload?: string | Buffer;
  readonly contentType?: string;
  readonly what: string;
}

/** Ids worth putting into path and query parameters besides random text. */
export interface IdPool {
  readonly known: readonly string[];
}

/** Largest oversized body the fuzzer builds (routes with bigger limits get only the smaller mutations). */
const MAX_OVERSIZE_BYTES = 2 * 1024 * 1024;

const JSON_TYPE = 'application/json';

const WRONG_CONTENT_TYPES = [
  'text/plain',
  'application/x-www-form-urlencoded',
  'multipart/form-data; boundary=xyz',
  'application/json; charset=utf-16le',
  'application/octet-stream',
  'application/xml',
  'APPLICATION/JSON',
  'application/json;;;',
  'application/jsonx',
  '',
  'a'.repeat(2000),
];

/** Splits a fixture URL into path parameter values (by the route pattern) and query entries. */
function splitFixtureUrl(
  route: AnyRoute,
  url: string,
): { params: Map<string, string>; query: [string, string][] } {
  const [path = '', search = ''] = url.split('?', 2);
  const pattern = route.url.split('/');
  const actual = path.split('/');
  const params = new Map<string, string>();
  pattern.forEach((seg, i) => {
    if (seg.startsWith(':')) params.set(seg.slice(1), decodeURIComponent(actual[i] ?? ''));
    else if (seg === '*') params.set('*', actual.slice(i).join('/'));
  });
  return { params, query: [...new URLSearchParams(search).entries()] };
}

function buildUrl(route: AnyRoute, params: Map<string, string>, query: string, rawParams = false): string {
  const path = route.url
    .split('/')
    .map((seg) => {
      if (seg === '*') return params.get('*') ?? '';
      if (!seg.startsWith(':')) return seg;
      const v = params.get(seg.slice(1)) ?? '';
      return rawParams ? v : pct(v);
    })
    .join('/');
  return query === '' ? path : `${path}?${query}`;
}

/** Percent-encodes any string, lone surrogates included (encodeURIComponent throws on those). */
function pct(s: string): string {
  try {
    return encodeURIComponent(s);
  } catch {
    return [...Buffer.from(s, 'utf8')].map((b) => `%${b.toString(16).padStart(2, '0')}`).join('');
  }
}

function queryText(entries: readonly (readonly [string, string])[]): string {
  return entries.map(([k, v]) => `${pct(k)}=${pct(v)}`).join('&');
}

/** Raw path values: percent-encoding garbage, traversal, separators (sent unencoded). */
const RAW_PATH_VALUES = [
  '%zz',
  '%',
  '%00',
  '%2e%2e',
  '..',
  '.',
  '%2F',
  'a%2Fb',
  '%c3%28',
  '%ff%fe',
  '+',
  '%20',
];

function textArbitrary(pool: IdPool): fc.Arbitrary<string> {
  return fc.oneof(
    fc.constantFrom(...pool.known),
    fc.constantFrom(...AWKWARD_STRINGS.filter((s) => s.length < 5000), ...HOSTILE_KEYS),
    fc.string({ maxLength: 40, unit: 'binary' }),
    fc.stringMatching(/^[A-Za-z0-9_-]{1,40}$/),
    fc.integer({ min: -5, max: 2000 }).map(String),
    fc.constantFrom('1e3', '0x10', '-0', '1.5', '9007199254740993', '99999999999999999999', ' 1'),
  );
}

function pathAndQueryArbitrary(
  route: AnyRoute,
  fixture: RouteRequest,
  pool: IdPool,
): fc.Arbitrary<FuzzRequest> {
  const { params, query } = splitFixtureUrl(route, fixture.url);
  const names = [...params.keys()];
  const body =
    fixture.body === undefined ? {} : { payload: JSON.stringify(fixture.body), contentType: JSON_TYPE }; // keep the body valid
  const raw =
    fixture.raw === undefined ? {} : { payload: fixture.raw.payload, contentType: fixture.raw.contentType };
  const text = textArbitrary(pool);
  const queryOps = fc.array(
    fc.oneof(
      fc.record({
        op: fc.constant('set' as const),
        key: fc.constantFrom(...query.map(([k]) => k), 'limit', 'after'),
        value: text,
      }),
      fc.record({
        op: fc.constant('add' as const),
        key: fc.oneof(fc.constantFrom(...HOSTILE_KEYS, 'a[b]', 'limit[]'), text),
        value: text,
      }),
      fc.record({
        op: fc.constant('dup' as const),
        key: fc.constantFrom(...query.map(([k]) => k), 'limit'),
        value: text,
      }),
      fc.record({ op: fc.constant('drop' as const), key: fc.constant(''), value: fc.constant('') }),
    ),
    { minLength: 0, maxLength: 3 },
  );
  const paramOps = fc.array(fc.tuple(fc.nat(), text), {
    minLength: names.length === 0 ? 0 : 1,
    maxLength: 2,
  });
  return fc
    .tuple(paramOps, queryOps, fc.boolean(), fc.constantFrom(...RAW_PATH_VALUES), fc.nat())
    .map(([pOps, qOps, useRaw, rawValue, which]) => {
      const p = new Map(params);
      for (const [i, v] of pOps) if (names.length > 0) p.set(names[i % names.length]!, v);
      if (useRaw && names.length > 0) p.set(names[which % names.length]!, rawValue);
      let q: [string, string][] = [...query];
      for (const op of qOps) {
        if (op.op === 'set') q = [...q.filter(([k]) => k !== op.key), [op.key, op.value]];
        else if (op.op === 'add' || op.op === 'dup') q.push([op.key, op.value]);
        else q = [];
      }
      const qs = qOps.length > 0 && which % 7 === 0 ? `${queryText(q)}&%zz=%&=&&a=%E0%A4%A` : queryText(q);
      return {
        method: fixture.method,
        url: buildUrl(route, p, qs, useRaw),
        ...body,
        ...raw,
        what: `path/query (${useRaw ? 'raw ' : ''}params ${JSON.stringify(Object.fromEntries(p)).slice(0, 200)})`,
      };
    });
}

function bodyArbitrary(route: AnyRoute, fixture: RouteRequest): fc.Arbitrary<FuzzRequest> | null {
  if (route.body === undefined) return null;
  const valid = validArbitrary(route.body as Record<string, unknown>);
  const seeds: fc.Arbitrary<unknown>[] = [valid];
  if (fixture.body !== undefined) seeds.push(fc.constant(fixture.body));
  const source = fc.oneof(...seeds);
  return fc.tuple(source, fc.oneof(fc.constant(null), mutationsArbitrary)).map(([value, mutations]) => {
    const v = mutations === null ? value : mutate(value, mutations);
    return {
      method: fixture.method,
      url: fixture.url,
      payload: JSON.stringify(v) ?? 'null',
      contentType: JSON_TYPE,
      what:
        mutations === null
          ? 'schema-valid body'
          : `mutated body (${mutations.map((m) => m.kind).join(', ')})`,
    };
  });
}

function rawArbitrary(route: AnyRoute, fixture: RouteRequest): fc.Arbitrary<FuzzRequest> {
  const validText = fixture.body === undefined ? '{}' : JSON.stringify(fixture.body);
  const limit = route.bodyLimit ?? DEFAULT_BODY_LIMIT_BYTES;
  const base = { method: fixture.method, url: fixture.url };
  const cases: fc.Arbitrary<FuzzRequest>[] = [
    fc.uint8Array({ maxLength: 300 }).map((b) => ({
      ...base,
      payload: Buffer.from(b),
      contentType: JSON_TYPE,
      what: 'random bytes as JSON',
    })),
    fc.nat({ max: validText.length }).map((n) => ({
      ...base,
      payload: validText.slice(0, n),
      contentType: JSON_TYPE,
      what: `JSON truncated at ${n}`,
    })),
    fc
      .constantFrom(
        '[]',
        '"x"',
        '1',
        'null',
        'true',
        '{}',
        `${validText}}`,
        `${validText} x`,
        `\ufeff${validText}`,
        `{"a":1,"a":2}`,
      )
      .map((payload) => ({
        ...base,
        payload,
        contentType: JSON_TYPE,
        what: `odd JSON ${payload.slice(0, 40)}`,
      })),
    fc.constantFrom(64, 5000, 200_000).map((depth) => ({
      ...base,
      payload:
        depth % 2 === 0
          ? `${'['.repeat(depth)}${']'.repeat(depth)}`
          : `${'{"a":'.repeat(depth)}1${'}'.repeat(depth)}`,
      contentType: JSON_TYPE,
      what: `JSON nested ${depth} deep`,
    })),
    fc.constantFrom(...WRONG_CONTENT_TYPES).map((contentType) => ({
      ...base,
      payload: contentType.includes('utf-16') ? Buffer.from(validText, 'utf16le') : validText,
      contentType,
      what: `content type '${contentType.slice(0, 40)}'`,
    })),
    fc.constant({ ...base, what: 'no body, no content type' }),
  ];
  if (limit < MAX_OVERSIZE_BYTES) {
    cases.push(
      fc.constant({
        ...base,
        payload: `"${'x'.repeat(limit)}"`,
        contentType: JSON_TYPE,
        what: `body of ${limit + 2} bytes`,
      }),
    );
  }
  if (route.binaryBodyType !== undefined) {
    const type = route.binaryBodyType;
    cases.push(
      fc
        .uint8Array({ maxLength: 600 })
        .map((b) => ({ ...base, payload: Buffer.from(b), contentType: type, what: `random ${type} body` })),
    );
  }
  if (fixture.raw !== undefined) {
    const { payload, contentType } = fixture.raw;
    cases.push(
      fc.tuple(fc.nat(), fc.integer({ min: 1, max: 255 })).map(([at, x]) => {
        const p = Buffer.from(payload);
        p[at % p.length]! ^= x;
        return { ...base, payload: p, contentType, what: 'raw body with a flipped byte' };
      }),
    );
  }
  return fc.oneof(...cases);
}

/** Every kind of fuzz request for `route`, seeded by its fixture request. */
export function routeFuzzArbitrary(
  route: AnyRoute,
  fixture: RouteRequest,
  pool: IdPool,
): fc.Arbitrary<FuzzRequest> {
  const body = bodyArbitrary(route, fixture);
  const parts: fc.WeightedArbitrary<FuzzRequest>[] = [
    { arbitrary: pathAndQueryArbitrary(route, fixture, pool), weight: 3 },
    { arbitrary: rawArbitrary(route, fixture), weight: 3 },
  ];
  if (body !== null) parts.push({ arbitrary: body, weight: 5 });
  return fc.oneof(...parts);
}
