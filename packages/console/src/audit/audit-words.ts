/**
 * Officer and admin acts in words (docs/officers.md "Audit"): each verified log entry and,
 * when the server served it, the act document the entry hashes — `{org, kind, act, sub, at,
 * det}` — rendered as one sentence. Unknown kinds (added by later server versions) are shown
 * by name with their subject and detail, never dropped.
 */
import type { LogEntry } from '@custos/core';

/** An act document (server audit-sequencing.ts): who, what kind, which subject, a short detail. */
export interface ActDocument {
  readonly org: string;
  readonly kind: string;
  readonly act: string;
  readonly sub: string;
  readonly at: number;
  readonly det?: string;
}

type Phrase = (sub: string, det: string) => string;

const q = (s: string): string => (s === '' ? '' : ` (${s})`);

/** Sentences per entry kind (audit events use the document's kind with `.` as `-`). */
const PHRASES: Record<string, Phrase> = {
  'org-create': () => 'created the organisation',
  'user-create': (s, d) => `created user ${s}${q(d)}`,
  'user-role': (s, d) => `set the role of user ${s} to ${d}`,
  'user-retention': (s, d) => `set the retention class of user ${s} to ${d}`,
  'role-retention': (s, d) =>
    `set the retention class of role ${s} to ${d} (users without their own follow it)`,
  'enrolment-code-create': (s) => `issued an enrolment code for user ${s}`,
  'link-code-create': (s) => `issued a device-link code for user ${s}`,
  'device-enrolled': (s) => `enrolled device ${s}`,
  'device-revoked': (s) => `revoked device ${s}`,
  'bucket-key-published': (s) => `registered bucket key ${s}`,
  'bucket-key-wrapped': (s) => `stored an officer wrap of bucket ${s}`,
  'index-key-sealed': (s) => `sealed the index key of bucket ${s} to a device`,
  'key-manager-delegated': () => 'registered a new key-manager delegation',
  'key-manager-rotated': () => 'rotated the key-manager key (a quorum signed a delegation for a new key)',
  'root-archive-key-rotated': () =>
    'rotated the root archive key (a quorum signed a new root; every bucket re-wrapped to it)',
  'officers-change': (_s, d) => `changed the officers${q(d)}`,
  'officer-bind': (s, d) => `bound officer device ${s} to an officer's signing key${q(d)}`,
  'archive-search': (_s, d) => `searched the archive${q(d)}`,
  'archive-read': (s, d) => `read archived records of device ${s}${q(d)}`,
  'archive-export': (s, d) => `exported records${q(d || s)}`,
  'review-rule-add': (s, d) => `added lexicon rule ${s}${q(d)}`,
  'review-rule-extend': (s, d) => `extended lexicon rule ${s} to new buckets${q(d)}`,
  'review-rule-remove': (s) => `removed lexicon rule ${s}`,
  'review-rule-reseal': (s, d) => `re-sealed lexicon rule ${s} to the current officers${q(d)}`,
  'hold-extend': (s, d) => `extended legal hold ${s} to new buckets${q(d)}`,
  'hold-reseal': (s, d) => `re-sealed legal hold ${s} to the current officers${q(d)}`,
  'review-decide': (s, d) => `decided review item ${s}${q(d)}`,
  'review-settings': (_s, d) => `set review sampling${q(d)}`,
  'completeness-acknowledge': (s, d) => `acknowledged completeness finding ${s}${q(d)}`,
};

/** The kind an entry is filtered by: the audit or key event kind, or the entry type for holds and dispositions. */
export function actKind(e: LogEntry): string {
  return e.type === 'audit-event' || e.type === 'key-event' ? e.kind : e.type;
}

/** One sentence for the act. */
export function describeAct(e: LogEntry, doc: ActDocument | null): string {
  if (e.type === 'hold') return `${e.action === 'place' ? 'placed' : 'released'} legal hold ${e.holdId}`;
  if (e.type === 'disposition') return `disposed of bucket ${e.bucket} (${e.records} records destroyed)`;
  if (e.type !== 'audit-event' && e.type !== 'key-event') return e.type;
  const sub = doc?.sub ?? (e.type === 'key-event' ? e.subject : '');
  const det = doc?.det ?? '';
  const phrase = PHRASES[e.kind];
  if (phrase !== undefined) return phrase(sub, det);
  return `${e.kind}${sub === '' ? '' : ` ${sub}`}${q(det)}`;
}
