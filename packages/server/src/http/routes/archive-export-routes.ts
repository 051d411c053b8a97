/**
 * Recording an officer's export (docs/exports.md §9): `custos console export` builds the
 * export on the officer's machine from records it fetched through the search and records
 * routes, then — before it makes the export visible under its final name — reports it
 * here. The act is an audit entry in the org's log: the officer's device, the format, the
 * record count and the export's custody-manifest hash (so an auditor can match an export
 * in hand to its log entry). Never the query: the server does not see it, and the log is
 * read by auditors and witnesses.
 */
import { Type } from 'typebox';
import { defineRoute } from '../route-def.js';
import { Id } from '../schema-helpers.js';
import { throttleOfficer } from '../../alerts/officer-throttle.js';

/** Most records one export may declare (a sanity bound, not a policy). */
const MAX_EXPORT_RECORDS = 1_000_000_000;

const ExportBody = Type.Object(
  {
    format: Type.Union(
      [
        Type.Literal('rsmf'),
        Type.Literal('eml'),
        Type.Literal('mbox'),
        Type.Literal('pdf'),
        Type.Literal('json'),
      ],
      { description: 'the export format (console EXPORT_FORMATS)' },
    ),
    records: Type.Integer({
      minimum: 0,
      maximum: MAX_EXPORT_RECORDS,
      description: 'how many archive records the export holds',
    }),
    manifestSha256: Type.String({
      pattern: '^[0-9a-f]{64}$',
      description: "SHA-256 (lowercase hex) of the export's custody-manifest.json",
    }),
  },
  { additionalProperties: false },
);

/** POST /v1/orgs/:orgId/archive/exports */
export const recordExportRoute = defineRoute({
  method: 'POST',
  url: '/v1/orgs/:orgId/archive/exports',
  summary:
    'Records that an officer exported archive records (`custos console export`): an audit entry with the ' +
    "officer's device, the format, the record count and the custody-manifest hash — never the query. " +
    'The console calls it after building the export and before making it visible. Officers only.',
  access: { kind: 'device', roles: ['officer'] },
  params: Type.Object({ orgId: Id('organisation id') }, { additionalProperties: false }),
  body: ExportBody,
  response: {
    status: 201,
    schema: Type.Object(
      { recordedAt: Type.Integer({ minimum: 0, description: 'when the server recorded the export (ms)' }) },
      { additionalProperties: false },
    ),
  },
  errors: [],
  async handler({ auth, body, reply }, deps) {
    // Bursts of exports are refused and raise an alert (threat model F14).
    await throttleOfficer(deps, auth, 'export', reply);
    const at = deps.clock();
    // The act is the audit entry itself: one transaction, committed or not at all.
    await deps.stores.withTransaction((tx) =>
      deps.audit.record(tx, auth.orgId, {
        kind: 'archive.export',
        actorDeviceId: auth.deviceId,
        subject: auth.orgId,
        detail: `format=${body.format} records=${body.records} manifest=${body.manifestSha256}`,
        at,
      }),
    );
    return { recordedAt: at };
  },
});
