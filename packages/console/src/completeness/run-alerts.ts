/**
 * `custos console alerts`: the completeness findings no officer acknowledged
 * (run-completeness.ts, finding-acknowledgements.ts), the security
 * alerts the server raised, and the daily volume alerts the console works out itself
 * (volume-alerts.ts). Server alerts are `alert-…` audit entries of the verified log —
 * listed from the log itself, so the server cannot hide one — and their details come from
 * GET …/alerts, each document accepted only if it hashes to its log entry.
 */
import { auditDocumentHash } from '../audit/audit-document-hash.js';
import { officerAudit } from '../audit/officer-audit.js';
import { ConsoleError } from '../console-error.js';
import type { OfficerSession } from '../officer-session.js';
import type { OpenFinding } from './finding-acknowledgements.js';
import { runCompleteness, type CompletenessOptions, type CompletenessReport } from './run-completeness.js';
import {
  DEFAULT_VOLUME_LIMITS,
  VOLUME_ACT_KINDS,
  volumeAlerts,
  type VolumeAlert,
  type VolumeLimits,
} from './volume-alerts.js';

/** Actor of acts authorised by the bootstrap token (server log-defaults BOOTSTRAP_ACTOR). */
const BOOTSTRAP_ACTOR = 'bootstrap';

/** An alert the server raised, from the log. */
export interface SecurityAlert {
  /** The log entry's kind, e.g. `alert-rate-limit`. */
  readonly kind: string;
  readonly logIndex: number;
  /** The device the alert is about (the entry's actor). */
  readonly deviceId: string;
  readonly time: number;
  /** The document's detail (e.g. `route=search burst=20 per-second=2`), or null when the server did not serve a matching document. */
  readonly detail: string | null;
}

/** One line of the alerts listing. */
export type Alert =
  | ({ readonly source: 'completeness' } & OpenFinding)
  | ({ readonly source: 'server' } & SecurityAlert)
  | ({ readonly source: 'volume' } & VolumeAlert);

/** The alerts listing. */
export interface AlertsReport {
  readonly alerts: readonly Alert[];
  readonly completeness: CompletenessReport;
  /** Alert entries whose document the server did not serve (listed without detail). */
  readonly withoutDocument: number;
}

/** What `runAlerts` checks besides completeness. */
export interface AlertsOptions extends CompletenessOptions {
  /** Daily limits per officer device (default DEFAULT_VOLUME_LIMITS). */
  readonly volume?: VolumeLimits;
}

/** Lists completeness findings, security alerts and daily volume alerts (from `since` on). */
export async function runAlerts(session: OfficerSession, options: AlertsOptions = {}): Promise<AlertsReport> {
  const completeness = await runCompleteness(session, options);
  const since = options.since ?? 0;
  const r = await session.call('GET', `/v1/orgs/${session.orgId}/alerts?since=${since}`);
  if (!Array.isArray(r.alerts))
    throw new ConsoleError('SERVER_REFUSED', 'GET …/alerts: the answer lacks alerts');
  const details = new Map<string, string | null>();
  for (const a of r.alerts as Record<string, unknown>[]) {
    if (
      typeof a.kind !== 'string' ||
      typeof a.subject !== 'string' ||
      typeof a.at !== 'number' ||
      (a.actorDeviceId !== null && typeof a.actorDeviceId !== 'string') ||
      (a.detail !== null && typeof a.detail !== 'string')
    )
      throw new ConsoleError('SERVER_REFUSED', 'GET …/alerts: an alert is malformed');
    const hash = auditDocumentHash(session.orgId, {
      kind: a.kind,
      actor: a.actorDeviceId ?? BOOTSTRAP_ACTOR,
      subject: a.subject,
      at: a.at,
      detail: a.detail,
    });
    details.set(hash, a.detail);
  }
  const security: SecurityAlert[] = [];
  let withoutDocument = 0;
  for (const { index, entry } of completeness.verifiedLog.entries) {
    if (entry.type !== 'audit-event' || !entry.kind.startsWith('alert-') || entry.time < since) continue;
    const h = Buffer.from(entry.hash).toString('hex');
    if (!details.has(h)) withoutDocument++;
    security.push({
      kind: entry.kind,
      logIndex: index,
      deviceId: entry.actor,
      time: entry.time,
      detail: details.get(h) ?? null,
    });
  }
  // Searches, reads and exports, each verified against the log with its document's counts.
  const audit = await officerAudit(session, {
    ...(options.since === undefined ? {} : { since: options.since }),
    kinds: VOLUME_ACT_KINDS,
    ...(options.onProgress === undefined ? {} : { onProgress: options.onProgress }),
  });
  const volume = volumeAlerts(audit.acts, options.volume ?? DEFAULT_VOLUME_LIMITS);
  return {
    alerts: [
      ...completeness.findings.map((f) => ({ source: 'completeness' as const, ...f })),
      ...security.map((s) => ({ source: 'server' as const, ...s })),
      ...volume.map((v) => ({ source: 'volume' as const, ...v })),
    ],
    completeness,
    withoutDocument,
  };
}
