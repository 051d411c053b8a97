/**
 * The route fuzzer's verdict on one response: never a 5xx; every rejection a 4xx in the
 * project's error shape, with a documented code whose status it carries and a message that
 * names what was wrong; and, for every rejection, a store that is byte-for-byte unchanged.
 *
 * Used only by tests.
 */
import type { FastifyInstance } from 'fastify';
import { SERVER_ERRORS, type ServerErrorCode } from '../errors.js';
import type { AnyRoute } from '../http/route-def.js';
import type { FuzzRequest } from './route-fuzz-cases.js';
import type { StoreWatch } from './store-watch.js';

/** Codes any route may answer (docs/api.md, "Every route may also answer …"), plus the bland 404 of unmatched paths. */
const COMMON_CODES: readonly ServerErrorCode[] = [
  'RATE_LIMITED',
  'MALFORMED_JSON',
  'INVALID_REQUEST',
  'BODY_TOO_LARGE',
  'UNSUPPORTED_MEDIA_TYPE',
  'NOT_FOUND',
];
const DEVICE_CODES: readonly ServerErrorCode[] = [
  'AUTH_REQUIRED',
  'TOKEN_INVALID',
  'TOKEN_EXPIRED',
  'TOKEN_DEVICE_MISMATCH',
  'DEVICE_REVOKED',
  'WRONG_ORG',
  'ROLE_FORBIDDEN',
];

/**
 * The one documented write on a refusal (threat model F14, alerts/officer-throttle.ts): the
 * first RATE_LIMITED of a burst on an officer archive route appends an `alert.rate-limit`
 * audit event, in a transaction of its own. Any other change on a refusal is a failure.
 */
const REFUSAL_WRITES: Partial<Record<string, readonly string[]>> = { RATE_LIMITED: ['audit_pending'] };

/** Messages that name nothing: a rejection must say what was wrong. */
const VAGUE_MESSAGES = new Set(['', 'the request cannot be processed', 'internal error', 'Bad Request']);

/** One broken promise. */
export interface FuzzFailure {
  readonly route: string;
  readonly what: string;
  readonly request: string;
  readonly status: number;
  readonly problem: string;
}

/** Counts per outcome, for the report. */
export interface FuzzTally {
  sent: number;
  accepted: number;
  rejected: number;
  readonly codes: Map<string, number>;
}

/** A fresh tally. */
export function newTally(): FuzzTally {
  return { sent: 0, accepted: 0, rejected: 0, codes: new Map() };
}

function preview(req: FuzzRequest): string {
  const body =
    req.payload === undefined
      ? ''
      : ` ${(typeof req.payload === 'string' ? req.payload : `<${req.payload.length} bytes>`).slice(0, 160)}`;
  return `${req.method} ${req.url.slice(0, 200)} [${(req.contentType ?? '-').slice(0, 40)}]${body}`;
}

/**
 * The route a mutated URL actually reaches: dot segments resolve (`/v1/orgs/./log` is
 * `/v1/orgs/log`, which is `GET /v1/orgs/:orgId`), and static segments win over parameters.
 */
export function routeReached(routes: readonly AnyRoute[], method: string, url: string): AnyRoute | undefined {
  const path = new URL(url, 'http://fuzz.invalid').pathname.split('/');
  const score = (r: AnyRoute): number => {
    const pattern = r.url.split('/');
    let s = 0;
    for (let i = 0; i < pattern.length; i++) {
      const seg = pattern[i]!;
      if (seg === '*') return i < path.length ? s : -1;
      if (i >= path.length) return -1;
      if (seg.startsWith(':')) {
        if (path[i] === '') return -1;
      } else if (seg === path[i]) s += 1;
      else return -1;
    }
    return pattern.length === path.length ? s : -1;
  };
  let best: AnyRoute | undefined;
  let bestScore = -1;
  for (const r of routes) {
    const s = r.method === method ? score(r) : -1;
    if (s > bestScore) [best, bestScore] = [r, s];
  }
  return best;
}

function codeAllowed(route: AnyRoute, code: ServerErrorCode): boolean {
  return (
    route.errors.includes(code) ||
    COMMON_CODES.includes(code) ||
    (route.access.kind === 'device' && DEVICE_CODES.includes(code))
  );
}

/** What is wrong with one rejection's body and code, or null; `reached` is the route the URL matched. */
export function errorBodyProblem(
  route: AnyRoute,
  status: number,
  body: string,
  reached?: AnyRoute,
): string | null {
  let parsed: unknown;
  try {
    parsed = JSON.parse(body);
  } catch {
    return 'error body is not JSON';
  }
  const error = (parsed as { error?: { code?: unknown; message?: unknown } } | null)?.error;
  if (typeof error?.code !== 'string' || typeof error.message !== 'string') {
    return 'error body is not {"error": {"code", "message"}}';
  }
  const code = error.code as ServerErrorCode;
  const known = (SERVER_ERRORS as Record<string, { status: number } | undefined>)[code];
  if (known === undefined) return `unknown error code ${code}`;
  if (known.status !== status) return `${code} answered with ${status}, documented as ${known.status}`;
  if (VAGUE_MESSAGES.has(error.message.trim())) return `${code} message names nothing: '${error.message}'`;
  if (!codeAllowed(route, code) && (reached === undefined || !codeAllowed(reached, code))) {
    return `${code} is not among the documented errors of ${reached?.url ?? route.url}`;
  }
  return null;
}

/**
 * Sends `req` with `headers` and checks the answer; resolves to the failures found (none when
 * the server kept its promises). The watch is marked before the request, so a rejection that
 * committed anything shows up as changed tables.
 */
export async function sendAndCheck(
  app: FastifyInstance,
  routes: readonly AnyRoute[],
  route: AnyRoute,
  req: FuzzRequest,
  headers: Record<string, string>,
  watch: StoreWatch,
  tally: FuzzTally,
): Promise<FuzzFailure[]> {
  await watch.mark();
  const res = await app.inject({
    method: req.method,
    url: req.url,
    headers: { ...headers, ...(req.contentType === undefined ? {} : { 'content-type': req.contentType }) },
    ...(req.payload === undefined ? {} : { payload: req.payload }),
  });
  tally.sent++;
  const key = `${route.method} ${route.url}`;
  const fail = (problem: string): FuzzFailure[] => [
    { route: key, what: req.what, request: preview(req), status: res.statusCode, problem },
  ];
  if (res.statusCode < 400) {
    if (res.statusCode < 200 || res.statusCode >= 300) return fail(`unexpected status ${res.statusCode}`);
    tally.accepted++;
    return [];
  }
  tally.rejected++;
  const code = /"code":"([A-Z_]+)"/.exec(res.body)?.[1] ?? String(res.statusCode);
  tally.codes.set(code, (tally.codes.get(code) ?? 0) + 1);
  const out: FuzzFailure[] = [];
  if (res.statusCode >= 500) out.push(...fail(`server error: ${res.body.slice(0, 200)}`));
  const problem = errorBodyProblem(
    route,
    res.statusCode,
    res.body,
    routeReached(routes, req.method, req.url),
  );
  if (problem !== null) out.push(...fail(`${problem} (${res.body.slice(0, 160)})`));
  const expected = REFUSAL_WRITES[code] ?? [];
  const changed = (await watch.changedTables()).filter((table) => !expected.includes(table));
  if (changed.length > 0)
    out.push(...fail(`rejected (${code}) but the store changed: ${changed.join(', ')}`));
  return out;
}
