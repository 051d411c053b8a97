/**
 * GET /v1/orgs/:orgId/alerts: the documents of the alert acts the server raised (rate-limit
 * bursts, officer-throttle.ts). Each is also an `alert-…` audit entry in the org's log;
 * the console lists alerts from the verified log and uses these documents only for their
 * detail, after checking that each hashes to its log entry — so a document the server
 * withholds leaves the alert listed without detail, never hidden.
 */
import { Type } from 'typebox';
import { defineRoute } from '../http/route-def.js';
import { Id } from '../http/schema-helpers.js';
import { MAX_ALERTS } from '../completeness/completeness-defaults.js';

const Alert = Type.Object(
  {
    kind: Type.String({ description: 'the act kind, e.g. `alert.rate-limit`' }),
    actorDeviceId: Type.Union([Type.String(), Type.Null()]),
    subject: Type.String(),
    detail: Type.Union([Type.String(), Type.Null()]),
    at: Type.Integer({ minimum: 0 }),
  },
  { additionalProperties: false },
);

/** GET /v1/orgs/:orgId/alerts */
export const listAlertsRoute = defineRoute({
  method: 'GET',
  url: '/v1/orgs/:orgId/alerts',
  summary:
    `The alert acts the server raised (rate-limit bursts on officer routes) from \`since\` (ms, default 0), oldest first, ` +
    `at most ${MAX_ALERTS}. Each document hashes to an \`alert-…\` audit entry of the log (docs/officers.md). Officers and auditors.`,
  access: { kind: 'device', roles: ['officer', 'auditor'] },
  params: Type.Object({ orgId: Id('organisation id') }, { additionalProperties: false }),
  query: Type.Object(
    {
      since: Type.Optional(
        Type.String({ pattern: '^(0|[1-9][0-9]{0,15})$', description: 'ms since the epoch' }),
      ),
    },
    { additionalProperties: false },
  ),
  response: {
    status: 200,
    schema: Type.Object(
      { alerts: Type.Array(Alert), truncated: Type.Boolean() },
      { additionalProperties: false },
    ),
  },
  errors: [],
  async handler({ auth, query }, deps) {
    const since = Number(query.since ?? '0');
    const rows = await deps.stores.completeness.alerts(auth.orgId, since, MAX_ALERTS + 1);
    return {
      alerts: rows.slice(0, MAX_ALERTS).map((r) => ({
        kind: r.kind,
        actorDeviceId: r.actorDeviceId,
        subject: r.subject,
        detail: r.detail,
        at: r.at,
      })),
      truncated: rows.length > MAX_ALERTS,
    };
  },
});
