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
 *   revoked/ORG/DEVICE/LOG_INDEX            the revocation of DEVICE, its `device-revoked` entry
 *   hold-mismatch/ORG/HOLD/ASPECT           what of hold HOLD the listing and the log disagree on
 *                                           (holds/hold-log-check.ts HoldDisagreementAspect)
 *   officer-binding/ORG/DEVICE/LOG_INDEX    the `officer-bind` act at LOG_INDEX binding DEVICE
 *
 * The evidence of a gap (log, not served, server report, declared) is not part of its id: it
 * says how the same missing records show, not which records are missing. A silent device that
 * archives again and falls silent later has a new last record, so a new id.
 *
 * A revoked device's finding is the revocation itself: what it explains (receipts never
 * archived, records handed in and runs declared lost after it) is the finding's state, which an
 * acknowledgement signs (revoked-acknowledgements.ts); it covers a later state with as many
 * unarchived receipts or fewer and exactly the records handed in and declarations it signed.
 * Its count of unarchived receipts changes with --since and as receipts pass the grace period:
 * in the id, as it was until version 2 statements (`revoked/ORG/DEVICE/N-FROM-TO|N-none[-gapsI.J]`),
 * it turned one revocation into a new finding at every count, and an officer could not tell what
 * changed. The records handed in and the declarations are part of what is judged (claims of a
 * device no longer trusted, docs/threat-model.md), so they are in the state too, compared
 * exactly: an acknowledgement never covers a record handed in or a run declared after it.
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
  'officer-binding',
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
      return `revoked/${orgId}/${f.deviceId}/${f.revokedLogIndex}`;
    case 'hold-mismatch':
      return `hold-mismatch/${orgId}/${f.holdId}/${f.aspect}`;
    case 'officer-binding':
      return `officer-binding/${orgId}/${f.deviceId}/${f.logIndex}`;
  }
}

/** The device and revocation log index a revoked finding's id names, or null when `id` is no such id. */
export function revokedIdParts(id: string): { deviceId: string; revokedLogIndex: number } | null {
  const m = /^revoked\/[^/]+\/([^/]+)\/(0|[1-9][0-9]{0,14})$/.exec(id);
  return m === null ? null : { deviceId: m[1]!, revokedLogIndex: Number(m[2]) };
}

/** The organisation an id names (its second part), or null when `id` is not shaped like a finding id. */
export function findingIdOrg(id: string): string | null {
  const parts = id.split('/');
  if (parts.length < 3 || !(FINDING_ID_KINDS as readonly string[]).includes(parts[0]!)) return null;
  if (parts.some((p) => !/^[A-Za-z0-9._:-]+$/.test(p))) return null;
  return parts[1]!;
}
