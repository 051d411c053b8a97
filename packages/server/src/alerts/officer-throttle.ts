/**
 * Rate limits on the officer routes over the archive (search, a custodian's records,
 * exports) with alerts (threat model F14: thousands of dumps pulled in a day went
 * unnoticed). Each officer device has a token bucket per route class; a refused request is
 * answered 429 RATE_LIMITED with Retry-After, and the first refusal of a burst appends an
 * `alert.rate-limit` audit event — so a `alert-rate-limit` entry in the org's log, which
 * the server cannot later drop without breaking the log — once per burst, not per request.
 *
 * The buckets live in the API process (http/rate-limit.ts): with several API nodes each
 * enforces its own, and each raises its own alert for a burst it sees.
 */
import type { FastifyReply } from 'fastify';
import { ServerError } from '../errors.js';
import type { AppDeps, AuthContext } from '../http/route-def.js';
import { RateLimiter, type RateLimitSettings } from '../http/rate-limit.js';
import { SEARCH_RATE_BURST, SEARCH_RATE_PER_SECOND } from '../search/search-defaults.js';

/** The officer route classes that are throttled and alert. */
export const OFFICER_ROUTE_CLASSES = ['search', 'read', 'export'] as const;
/** One of {@link OFFICER_ROUTE_CLASSES}. */
export type OfficerRouteClass = (typeof OFFICER_ROUTE_CLASSES)[number];

/** Devices whose buckets are kept per class (least recently used forgotten first). */
const MAX_THROTTLED_DEVICES = 10_000;

/** Per class: a burst, then a sustained rate per second (searches keep the search defaults). */
export const OFFICER_RATE_LIMITS: Readonly<Record<OfficerRouteClass, RateLimitSettings>> = {
  search: { burst: SEARCH_RATE_BURST, perSecond: SEARCH_RATE_PER_SECOND, maxKeys: MAX_THROTTLED_DEVICES },
  // A custodian's records come in pages of up to 500: an export of a large custodian pages quickly.
  read: { burst: 40, perSecond: 5, maxKeys: MAX_THROTTLED_DEVICES },
  export: { burst: 10, perSecond: 0.5, maxKeys: MAX_THROTTLED_DEVICES },
};

const WHAT: Record<OfficerRouteClass, string> = {
  search: 'archive searches',
  read: 'archive record reads',
  export: 'archive exports',
};

const limiters = new WeakMap<AppDeps, Map<OfficerRouteClass, RateLimiter>>();

function limiterFor(deps: AppDeps, cls: OfficerRouteClass): RateLimiter {
  let m = limiters.get(deps);
  if (m === undefined) limiters.set(deps, (m = new Map<OfficerRouteClass, RateLimiter>()));
  let l = m.get(cls);
  if (l === undefined) m.set(cls, (l = new RateLimiter(OFFICER_RATE_LIMITS[cls], deps.clock)));
  return l;
}

/** The detail of an `alert.rate-limit` event: the route class and the policy it exceeded (no query data). */
export function rateAlertDetail(cls: OfficerRouteClass): string {
  const s = OFFICER_RATE_LIMITS[cls];
  return `route=${cls} burst=${s.burst} per-second=${s.perSecond}`;
}

/**
 * Spends one token of class `cls` for the calling device. When none is left: at the start
 * of a burst, records the alert (its own transaction: the refused request does nothing
 * else), then throws RATE_LIMITED with Retry-After set on `reply`.
 */
export async function throttleOfficer(
  deps: AppDeps,
  auth: AuthContext,
  cls: OfficerRouteClass,
  reply: Pick<FastifyReply, 'header'>,
): Promise<void> {
  const d = limiterFor(deps, cls).take(`${auth.orgId}/${auth.deviceId}`);
  if (d.allowed) return;
  void reply.header('retry-after', String(d.retryAfterSeconds));
  if (d.burstStart) {
    await deps.stores.withTransaction((tx) =>
      deps.audit.record(tx, auth.orgId, {
        kind: 'alert.rate-limit',
        actorDeviceId: auth.deviceId,
        subject: auth.deviceId,
        detail: rateAlertDetail(cls),
        at: deps.clock(),
      }),
    );
    deps.logger.warn('officer-rate-alert', { orgId: auth.orgId, deviceId: auth.deviceId, route: cls });
  }
  throw new ServerError(
    'RATE_LIMITED',
    `too many ${WHAT[cls]} from this device: retry after ${d.retryAfterSeconds} s; the burst is recorded as an alert in the organisation's log`,
  );
}
