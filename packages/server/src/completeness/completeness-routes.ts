/**
 * The server's side of the completeness report (docs/officers.md, "Completeness and
 * alerts"): what it can compute cheaply from what it stores — every device with its
 * record count, highest sequence number and newest record time, the gaps in each device's
 * sequence (from the archive table's primary key), and the org's policy. The console does
 * not trust this answer: it recomputes gaps from the verified log and compares, matches
 * relay receipts against opened records, and checks the policy against its log entry.
 */
import { completenessPolicyActDetail, MAX_GAP_DECLARATION_BYTES } from '@custos/core';
import { Type } from 'typebox';
import { defineRoute } from '../http/route-def.js';
import { Bytes, encodeBytes, Id } from '../http/schema-helpers.js';
import { ServerError } from '../errors.js';
import type { DeviceId, OrgId } from '../ids.js';
import type { ArchiveGapRow } from '../store/archive-stores.js';
import type { DeviceRecord } from '../store/records.js';
import type { Stores } from '../store/stores.js';
import {
  DEFAULT_RECEIPT_GRACE_MS,
  DEFAULT_SILENT_AFTER_MS,
  MAX_RECEIPT_GRACE_MS,
  MAX_REPORT_DEVICES,
  MAX_REPORT_GAPS,
  SILENT_AFTER_RANGE_MS,
} from './completeness-defaults.js';

const OrgParams = Type.Object({ orgId: Id('organisation id') }, { additionalProperties: false });
const Ms = (description: string) => Type.Integer({ minimum: 0, description });

const Policy = Type.Object(
  {
    silentAfterMs: Ms('a device with no archive record for this long is reported silent'),
    receiptGraceMs: Ms('a relay receipt younger than this is not yet expected to be archived'),
    setBy: Type.Union([Type.String(), Type.Null()], { description: 'device that set it; null: defaults' }),
    setAt: Type.Union([Type.Integer({ minimum: 0 }), Type.Null()], { description: 'null: defaults' }),
  },
  { additionalProperties: false },
);

const Report = Type.Object(
  {
    devices: Type.Array(
      Type.Object(
        {
          deviceId: Type.String(),
          userId: Type.String(),
          createdAt: Type.Integer({ minimum: 0 }),
          revokedAt: Type.Union([Type.Integer({ minimum: 0 }), Type.Null()]),
          records: Type.Integer({ minimum: 0 }),
          maxSeq: Type.Union([Type.Integer({ minimum: 0 }), Type.Null()]),
          lastRecordAt: Type.Union([Type.Integer({ minimum: 0 }), Type.Null()]),
        },
        { additionalProperties: false },
      ),
    ),
    gaps: Type.Array(
      Type.Object(
        {
          deviceId: Type.String(),
          from: Type.Integer({ minimum: 0 }),
          to: Type.Integer({ minimum: 0 }),
          declaredLost: Type.Array(
            Type.Object(
              {
                firstSeq: Type.Integer({ minimum: 0 }),
                lastSeq: Type.Integer({ minimum: 0 }),
                reason: Type.String(),
                logIndex: Type.Integer({ minimum: 0 }),
              },
              { additionalProperties: false },
            ),
            {
              description:
                "the device's accepted gap declarations within this gap, in order (GET …/archive/gaps has the signed " +
                'documents); empty when nothing declares these records lost',
            },
          ),
        },
        { additionalProperties: false },
      ),
      { description: 'missing sequence numbers from…to (inclusive) per device' },
    ),
    gapsTruncated: Type.Boolean(),
    policy: Policy,
    checkedAt: Type.Integer({ minimum: 0 }),
  },
  { additionalProperties: false },
);

type PolicyOut = {
  silentAfterMs: number;
  receiptGraceMs: number;
  setBy: string | null;
  setAt: number | null;
};

async function policyOf(stores: Stores, orgId: OrgId): Promise<PolicyOut> {
  const p = await stores.completeness.policy(orgId);
  return p === undefined
    ? {
        silentAfterMs: DEFAULT_SILENT_AFTER_MS,
        receiptGraceMs: DEFAULT_RECEIPT_GRACE_MS,
        setBy: null,
        setAt: null,
      }
    : p;
}

async function allDevices(stores: Stores, orgId: OrgId): Promise<DeviceRecord[]> {
  const out: DeviceRecord[] = [];
  let after: DeviceId | null = null;
  for (;;) {
    const page = await stores.devices.list(orgId, { after, limit: 1000 });
    out.push(...page);
    if (page.length < 1000) return out;
    if (out.length >= MAX_REPORT_DEVICES) {
      throw new ServerError('INVALID_REQUEST', `more than ${MAX_REPORT_DEVICES} devices: not supported`);
    }
    after = page[page.length - 1]!.deviceId;
  }
}

/**
 * The declarations (rare: only after a server restore) that fall within a gap of the server's
 * sequence view. A declaration covers exactly records the server never stored, so a declared
 * run lies inside one gap; runs declared back to back share it. `rows` come ordered by device
 * and first sequence number (ArchiveStore.gaps), so each gap's runs are in order.
 */
function declaredLostWithin(
  rows: readonly ArchiveGapRow[],
): (deviceId: DeviceId, from: number, to: number) => DeclaredRun[] {
  const byDevice = new Map<DeviceId, ArchiveGapRow[]>();
  for (const r of rows) {
    let l = byDevice.get(r.deviceId);
    if (l === undefined) byDevice.set(r.deviceId, (l = []));
    l.push(r);
  }
  return (deviceId, from, to) =>
    (byDevice.get(deviceId) ?? [])
      .filter((r) => r.firstSeq >= from && r.lastSeq <= to)
      .map((r) => ({ firstSeq: r.firstSeq, lastSeq: r.lastSeq, reason: r.reason, logIndex: r.logIndex }));
}

interface DeclaredRun {
  readonly firstSeq: number;
  readonly lastSeq: number;
  readonly reason: string;
  readonly logIndex: number;
}

/** GET /v1/orgs/:orgId/archive/completeness */
export const completenessReportRoute = defineRoute({
  method: 'GET',
  url: '/v1/orgs/:orgId/archive/completeness',
  summary:
    "The server's view of archive completeness: every device with its record count, highest sequence number " +
    'and newest record time, the gaps in each sequence, and the completeness policy. Officers and auditors; ' +
    'audited with counts. The console checks it against the verified log (docs/officers.md).',
  access: { kind: 'device', roles: ['officer', 'auditor'] },
  params: OrgParams,
  response: { status: 200, schema: Report },
  errors: [],
  async handler({ auth }, deps) {
    const [devices, summaries, gaps, policy, declarations] = await Promise.all([
      allDevices(deps.stores, auth.orgId),
      deps.stores.completeness.deviceSummaries(auth.orgId),
      deps.stores.completeness.gaps(auth.orgId, MAX_REPORT_GAPS + 1),
      policyOf(deps.stores, auth.orgId),
      deps.stores.archive.gaps(auth.orgId, MAX_REPORT_GAPS),
    ]);
    const declaredIn = declaredLostWithin(declarations);
    const byDevice = new Map(summaries.map((s) => [s.deviceId, s]));
    const checkedAt = deps.clock();
    await deps.stores.withTransaction((tx) =>
      deps.audit.record(tx, auth.orgId, {
        kind: 'completeness.report',
        actorDeviceId: auth.deviceId,
        subject: auth.orgId,
        detail: `devices=${devices.length} gaps=${Math.min(gaps.length, MAX_REPORT_GAPS)}`,
        at: checkedAt,
      }),
    );
    return {
      devices: devices.map((d) => {
        const s = byDevice.get(d.deviceId);
        return {
          deviceId: d.deviceId,
          userId: d.userId,
          createdAt: d.createdAt,
          revokedAt: d.revokedAt,
          records: s?.records ?? 0,
          maxSeq: s?.maxSeq ?? null,
          lastRecordAt: s?.lastReceivedAt ?? null,
        };
      }),
      gaps: gaps.slice(0, MAX_REPORT_GAPS).map((g) => ({
        deviceId: g.deviceId,
        from: g.from,
        to: g.to,
        declaredLost: declaredIn(g.deviceId, g.from, g.to),
      })),
      gapsTruncated: gaps.length > MAX_REPORT_GAPS,
      policy,
      checkedAt,
    };
  },
});

const DeclaredGap = Type.Object(
  {
    deviceId: Type.String(),
    firstSeq: Type.Integer({ minimum: 0, description: 'first sequence number declared lost' }),
    lastSeq: Type.Integer({ minimum: 0, description: 'last sequence number declared lost' }),
    reason: Type.String({ description: '`server-restored`, `device-lost` or `bucket-disposed`' }),
    logIndex: Type.Integer({ minimum: 0, description: "index of the declaration's archive-gap log entry" }),
    receivedAt: Type.Integer({ minimum: 0 }),
    declaration: Bytes(
      1,
      MAX_GAP_DECLARATION_BYTES,
      "the signed declaration document as the device uploaded it; its SHA-256 and length are the log entry's h and sz",
    ),
  },
  { additionalProperties: false },
);

/** GET /v1/orgs/:orgId/archive/gaps */
export const declaredGapsRoute = defineRoute({
  method: 'GET',
  url: '/v1/orgs/:orgId/archive/gaps',
  summary:
    "The org's accepted gap declarations (docs/archive-format.md §6.1), by device and sequence number: runs " +
    'of records a device signed that it can no longer send (after a server restore), each with the signed ' +
    'document, so an officer or auditor can check its device signature and its archive-gap log entry. At most ' +
    `${MAX_REPORT_GAPS}; officers and auditors.`,
  access: { kind: 'device', roles: ['officer', 'auditor'] },
  params: OrgParams,
  response: {
    status: 200,
    schema: Type.Object(
      { gaps: Type.Array(DeclaredGap), truncated: Type.Boolean() },
      { additionalProperties: false },
    ),
  },
  errors: [],
  async handler({ auth }, deps) {
    const rows = await deps.stores.archive.gaps(auth.orgId, MAX_REPORT_GAPS + 1);
    return {
      gaps: rows.slice(0, MAX_REPORT_GAPS).map((g) => ({
        deviceId: g.deviceId,
        firstSeq: g.firstSeq,
        lastSeq: g.lastSeq,
        reason: g.reason,
        logIndex: g.logIndex,
        receivedAt: g.receivedAt,
        declaration: encodeBytes(g.declaration),
      })),
      truncated: rows.length > MAX_REPORT_GAPS,
    };
  },
});

/** PUT /v1/orgs/:orgId/archive/completeness/policy */
export const completenessPolicyRoute = defineRoute({
  method: 'PUT',
  url: '/v1/orgs/:orgId/archive/completeness/policy',
  summary:
    `Sets the org's completeness policy: silence after (${SILENT_AFTER_RANGE_MS.min}–${SILENT_AFTER_RANGE_MS.max} ms, ` +
    `default ${DEFAULT_SILENT_AFTER_MS}) and receipt grace (0–${MAX_RECEIPT_GRACE_MS} ms, default ` +
    `${DEFAULT_RECEIPT_GRACE_MS}). Officers only; a \`completeness-policy\` audit entry in the log, which the console checks the policy against.`,
  access: { kind: 'device', roles: ['officer'] },
  params: OrgParams,
  body: Type.Object(
    {
      silentAfterMs: Type.Integer({ minimum: SILENT_AFTER_RANGE_MS.min, maximum: SILENT_AFTER_RANGE_MS.max }),
      receiptGraceMs: Type.Integer({ minimum: 0, maximum: MAX_RECEIPT_GRACE_MS }),
    },
    { additionalProperties: false },
  ),
  response: { status: 200, schema: Policy },
  errors: [],
  async handler({ auth, body }, deps) {
    const at = deps.clock();
    const row = {
      silentAfterMs: body.silentAfterMs,
      receiptGraceMs: body.receiptGraceMs,
      setBy: auth.deviceId,
      setAt: at,
    };
    await deps.stores.withTransaction(async (tx) => {
      await tx.completeness.setPolicy(auth.orgId, row);
      await deps.audit.record(tx, auth.orgId, {
        kind: 'completeness.policy',
        actorDeviceId: auth.deviceId,
        subject: auth.orgId,
        detail: completenessPolicyActDetail(body.silentAfterMs, body.receiptGraceMs),
        at,
      });
    });
    return row;
  },
});
