/**
 * Custos log origins. Each organisation has one log; its checkpoint origin (which is also
 * the log key's name) is
 *
 *     <deployment host>/<org id>            e.g. custos.example/acme-7f3a
 *     <deployment host>/<org id>/<shard>    reserved for logs sharded by period (e.g. 2031)
 *
 * The host is the lowercase DNS name (optionally `:port`) under which the deployment
 * publishes its tlog-tiles API, so the origin is also the schema-less URL prefix that
 * c2sp.org/tlog-tiles recommends. Origins are valid signed-note key names (no spaces,
 * no `+`), so one string serves as origin and key name.
 */
import { CustosError } from '../errors.js';

/** The parts of a Custos log origin. */
export interface LogOriginParts {
  readonly host: string;
  readonly orgId: string;
  readonly shard?: string;
}

const HOST =
  /^(?=.{1,253}(?::|$))[a-z0-9](?:[a-z0-9-]{0,61}[a-z0-9])?(?:\.[a-z0-9](?:[a-z0-9-]{0,61}[a-z0-9])?)*(?::[1-9][0-9]{0,4})?$/;
const SEGMENT = /^[A-Za-z0-9_-]{1,64}$/;

/** Builds the origin of an organisation's log; throws INVALID_ARGUMENT on a bad part. */
export function formatLogOrigin(parts: LogOriginParts): string {
  if (!HOST.test(parts.host))
    throw new CustosError('INVALID_ARGUMENT', 'log origin: host must be a lowercase DNS name');
  if (!SEGMENT.test(parts.orgId))
    throw new CustosError('INVALID_ARGUMENT', 'log origin: org id must match [A-Za-z0-9_-]{1,64}');
  if (parts.shard !== undefined && !SEGMENT.test(parts.shard)) {
    throw new CustosError('INVALID_ARGUMENT', 'log origin: shard must match [A-Za-z0-9_-]{1,64}');
  }
  return parts.shard === undefined
    ? `${parts.host}/${parts.orgId}`
    : `${parts.host}/${parts.orgId}/${parts.shard}`;
}

/** Splits a Custos log origin into its parts; throws MALFORMED_CHECKPOINT when it is not one. */
export function parseLogOrigin(origin: string): LogOriginParts {
  const segs = origin.split('/');
  const [host, orgId, shard] = segs;
  if (
    segs.length < 2 ||
    segs.length > 3 ||
    host === undefined ||
    orgId === undefined ||
    !HOST.test(host) ||
    !SEGMENT.test(orgId) ||
    (shard !== undefined && !SEGMENT.test(shard))
  ) {
    throw new CustosError('MALFORMED_CHECKPOINT', 'not a Custos log origin (<host>/<org id>[/<shard>])');
  }
  return shard === undefined ? { host, orgId } : { host, orgId, shard };
}
