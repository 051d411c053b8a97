/**
 * Splitting conversations into RSMF files: one per conversation and UTC day, and at most
 * `maxEvents` events each (compliance.md: ≤ 10,000). A slice whose events were shown the
 * archive notice starts with a `disclaimer` event.
 */
import type { ExportConversation, ExportEvent } from './event-model.js';
import { utcDay } from './event-model.js';
import { MAX_RSMF_EVENTS } from './export-types.js';
import { ExportError } from './export-error.js';
import { minOf } from '../extremes.js';

/** One RSMF file's worth of one conversation. */
export interface ConversationSlice {
  readonly conversation: ExportConversation;
  readonly day: string;
  readonly part: { readonly n: number; readonly of: number };
  readonly events: readonly ExportEvent[];
}

/** Text of the disclaimer event. */
export const ARCHIVE_NOTICE_TEXT =
  "Archive notice: every participant was shown that this conversation is recorded in the organisation's archive.";

/** The disclaimer event that opens part `n` of `day` of `c` when any of `events` showed the archive notice. */
export function disclaimerEvent(
  c: ExportConversation,
  day: string,
  n: number,
  events: readonly ExportEvent[],
): ExportEvent | undefined {
  const noticed = events.filter((e) => e.archiveNotice);
  if (noticed.length === 0) return undefined;
  return {
    id: `${c.id}#notice:${day}:${n}`,
    type: 'disclaimer',
    conversation: c.id,
    at: minOf(noticed.map((e) => e.at)),
    body: ARCHIVE_NOTICE_TEXT,
    attachments: [],
    edits: [],
    reactions: new Map(),
    receipts: [],
    records: [],
    archiveNotice: true,
  };
}

/** Slices `convs` by day and size; `maxEvents` counts the disclaimer too. */
export function sliceConversations(
  convs: readonly ExportConversation[],
  maxEvents: number = MAX_RSMF_EVENTS,
): ConversationSlice[] {
  if (!Number.isSafeInteger(maxEvents) || maxEvents < 2 || maxEvents > MAX_RSMF_EVENTS)
    throw new ExportError('EXPORT_INVALID_INPUT', `events per RSMF file must be 2–${MAX_RSMF_EVENTS}`);
  const out: ConversationSlice[] = [];
  for (const c of convs) {
    const byDay = new Map<string, ExportEvent[]>();
    for (const e of c.events) {
      const d = utcDay(e.at);
      const list = byDay.get(d) ?? [];
      list.push(e);
      byDay.set(d, list);
    }
    for (const day of [...byDay.keys()].sort()) {
      const events = byDay.get(day)!;
      const per = maxEvents - 1; // room for the disclaimer
      const of = Math.ceil(events.length / per);
      for (let n = 1; n <= of; n++) {
        const chunk = events.slice((n - 1) * per, n * per);
        const d = disclaimerEvent(c, day, n, chunk);
        out.push({ conversation: c, day, part: { n, of }, events: d === undefined ? chunk : [d, ...chunk] });
      }
    }
  }
  return out;
}
