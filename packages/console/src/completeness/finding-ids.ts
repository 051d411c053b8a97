/**
 * Stable ids of completeness findings (docs/officers.md, "Completeness and alerts"). An id
 * names exactly what its finding covers, so an officer's acknowledgement of one finding can
 * never cover another — a new gap of the same device has another range, so another id:
 *
 *   gap/ORG/DEVICE/FROM-TO                  the missing sequence numbers FROM…TO (inclusive)
 *   unarchived/ORG/DEVICE/LOG_INDEX         the relay receipt at LOG_INDEX, for DEVICE's side
 *   silent/ORG/DEVICE/LAST_SEQ|none         silent since its record LAST_SEQ (or never archived)
 *   invalid/ORG/DEVICE/SEQ                  the served record SEQ
 *   unverified-disposition/ORG/CERT[/BUCKET] the certificate (SHA-256, hex), or one of its buckets
 *   revoked/ORG/DEVICE/N-FROM-TO|N-none     a revoked device with N unarchived receipts and the
 *                                           records FROM…TO handed in after its revocation (or none)
 *   hold-mismatch/ORG/HOLD/ASPECT           what of hold HOLD the listing and the log disagree on
 *                                           (holds/hold-log-check.ts HoldDisagreementAspect)
 *
 * The evidence of a gap (log, not served, server report, declared) is not part of its id: it
 * says how the same missing records show, not which records are missing. A silent device that
 * archives again and falls silent later has a new last record, so a new id; a revoked device
 * that hands in more, or whose count of unarchived receipts changes, likewise.
 */
import type { CompletenessFinding } from './completeness-findings.js';
import type { DeviceLogView } from './completeness-findings.js';
import { maxOf } from '../extremes.js';

/** A finding with its id. */
export type IdentifiedFinding = CompletenessFinding & { readonly id: string };

/** The kinds as they start an id. */
export const FINDING_ID_KINDS = [
  'gap',
  'unarchived',
  'silent',
  'invalid',
  'unverified-disposition',
  'revoked',
  'hold-mismatch',
] as const;

/**
 * The id of `f` in org `orgId`. `devices` (the log's view, devicesInLog) gives a silent
 * device's newest sequence number.
 */
export function findingId(
  orgId: string,
  f: CompletenessFinding,
  devices: ReadonlyMap<string, Pick<DeviceLogView, 'records'>>,
): string {
  switch (f.kind) {
    case 'gap':
      return `gap/${orgId}/${f.deviceId}/${f.from}-${f.to}`;
    case 'unmatched-receipt':
      return `unarchived/${orgId}/${f.deviceId}/${f.logIndex}`;
    case 'silent-device': {
      const seqs = [...(devices.get(f.deviceId)?.records.keys() ?? [])];
      return `silent/${orgId}/${f.deviceId}/${seqs.length === 0 ? 'none' : maxOf(seqs)}`;
    }
    case 'invalid-record':
      return `invalid/${orgId}/${f.deviceId}/${f.seq}`;
    case 'unverified-disposition':
      return `unverified-disposition/${orgId}/${f.certificateHash}${f.bucketId === null ? '' : `/${f.bucketId}`}`;
    case 'revoked-device':
      // A gap declared after the revocation is another finding too; ids without one are unchanged.
      return `revoked/${orgId}/${f.deviceId}/${f.unarchivedReceipts}-${f.handedIn === null ? 'none' : `${f.handedIn.from}-${f.handedIn.to}`}${f.declaredAfter.length === 0 ? '' : `-gaps${f.declaredAfter.map((g) => g.logIndex).join('.')}`}`;
    case 'hold-mismatch':
      return `hold-mismatch/${orgId}/${f.holdId}/${f.aspect}`;
  }
}

/** The organisation an id names (its second part), or null when `id` is not shaped like a finding id. */
export function findingIdOrg(id: string): string | null {
  const parts = id.split('/');
  if (parts.length < 3 || !(FINDING_ID_KINDS as readonly string[]).includes(parts[0]!)) return null;
  if (parts.some((p) => !/^[A-Za-z0-9._:-]+$/.test(p))) return null;
  return parts[1]!;
}
