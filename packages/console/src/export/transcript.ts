/**
 * The plain-text transcript of a slice of a conversation: the readable body of an RSMF
 * file (review tools index it) and the line model of the PDF. Times are UTC; edits,
 * deletions, reactions, receipts and attachments are written out under each message.
 */
import type { ExportConversation, ExportEvent } from './event-model.js';
import { displayOf } from './event-model.js';
import { checkpointsOf, clock, conversationTitle, who, type RenderContext } from './render-context.js';

/** One line of a transcript; `style` lets the PDF set it apart. */
export interface TranscriptLine {
  readonly text: string;
  readonly style: 'heading' | 'meta' | 'message' | 'detail' | 'marker';
}

/** Lines describing one event (its first line carries the time and sender). */
export function eventLines(ctx: RenderContext, e: ExportEvent): TranscriptLine[] {
  const name = (a: string): string => displayOf(ctx.names, a);
  const out: TranscriptLine[] = [];
  const t = clock(e.at);
  switch (e.type) {
    case 'disclaimer':
      out.push({ text: `[${t}] NOTICE: ${e.body}`, style: 'marker' });
      return out;
    case 'join':
    case 'leave':
    case 'history':
      out.push({ text: `[${t}] -- ${who(ctx, e.participant)} ${e.body}`, style: 'marker' });
      return out;
    default:
      break;
  }
  const deleted = e.deleted === undefined ? '' : ' [DELETED]';
  const edited = e.edits.length === 0 ? '' : ' [EDITED]';
  out.push({ text: `[${t}] ${who(ctx, e.participant)}${deleted}${edited}: ${e.body}`, style: 'message' });
  if (e.replyTo !== undefined) out.push({ text: `    in reply to message ${e.replyTo}`, style: 'detail' });
  for (const x of e.edits)
    out.push({
      text: `    edited at ${clock(x.at)} by ${name(x.participant)}; before: ${x.previous}`,
      style: 'detail',
    });
  if (e.deleted !== undefined)
    out.push({
      text: `    DELETED for everyone at ${clock(e.deleted.at)} by ${name(e.deleted.participant)} (text kept by the archive)`,
      style: 'detail',
    });
  for (const a of e.attachments) {
    const label = a.ref.fileName ?? a.ref.blobId;
    const where = a.bytes === undefined ? 'not included in this export' : `file ${a.fileName}`;
    out.push({
      text: `    attachment: ${label} (${a.ref.contentType}, ${a.ref.size} bytes) - ${where}`,
      style: 'detail',
    });
  }
  for (const [emoji, ps] of e.reactions)
    out.push({ text: `    reaction ${emoji} by ${[...ps].map(name).join(', ')}`, style: 'detail' });
  for (const r of e.receipts)
    out.push({ text: `    ${r.action} by ${name(r.participant)} at ${clock(r.at)}`, style: 'detail' });
  return out;
}

/** The header lines of a transcript slice. */
export function sliceHeader(
  ctx: RenderContext,
  c: ExportConversation,
  day: string,
  part: { n: number; of: number },
  events: readonly ExportEvent[],
): TranscriptLine[] {
  const lines: TranscriptLine[] = [
    { text: `Conversation: ${conversationTitle(ctx, c)} (${c.type}, id ${c.id})`, style: 'heading' },
    {
      text: `Day: ${day} (all times UTC)${part.of > 1 ? `, part ${part.n} of ${part.of}` : ''}`,
      style: 'meta',
    },
    { text: `Participants: ${c.participants.map((p) => who(ctx, p)).join(', ')}`, style: 'meta' },
    { text: `Custodian: ${who(ctx, ctx.custodian)}`, style: 'meta' },
    { text: `Events: ${events.length}`, style: 'meta' },
  ];
  for (const cp of checkpointsOf(ctx, events)) lines.push({ text: `Log checkpoint: ${cp}`, style: 'meta' });
  lines.push({ text: `Custody manifest SHA-256: ${ctx.manifestSha256}`, style: 'meta' });
  return lines;
}

/** A whole transcript slice as text (LF line ends). */
export function transcriptText(
  ctx: RenderContext,
  c: ExportConversation,
  day: string,
  part: { n: number; of: number },
  events: readonly ExportEvent[],
): string {
  const lines = [...sliceHeader(ctx, c, day, part, events), { text: '', style: 'meta' as const }];
  for (const e of events) lines.push(...eventLines(ctx, e));
  return `${lines.map((l) => l.text).join('\n')}\n`;
}
