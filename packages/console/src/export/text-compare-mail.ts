/**
 * EML and MBOX text binding (text-binding.ts): the messages the opened records produce
 * (the exporter's own emlFiles / mboxFiles) are compared with the export's byte for byte;
 * a difference is named by the first differing header, else text line, of the message of
 * that event. A message no event produces, and an event with no message, are mismatches.
 */
import type { ExportConversation, ExportEvent } from './event-model.js';
import { emlFiles, mboxFiles } from './eml-export.js';
import { header, multipartParts, parseMessage, partBytes, partFileName, type MimePart } from './mime.js';
import { fileSafe } from './rsmf-file.js';
import { conversationsOf, recordOfField, textMismatch, type OpenedExport } from './text-binding.js';
import { firstLineDiff, sameBytes } from './text-diff.js';

type Format = 'eml' | 'mbox';

function tryParse(text: string, file: string): MimePart | undefined {
  try {
    return parseMessage(text, file);
  } catch {
    return undefined;
  }
}

// Attachment parts of a message by file name (nothing for a single-part message).
function attachmentParts(m: MimePart | undefined, out: Map<string, Uint8Array>): void {
  if (m === undefined || !/multipart\//i.test(header(m, 'content-type') ?? '')) return;
  let parts: MimePart[];
  try {
    parts = multipartParts(m);
  } catch {
    return;
  }
  for (const p of parts) {
    const n = partFileName(p);
    if (n !== undefined) out.set(n, partBytes(p));
  }
}

function textOf(m: MimePart): string {
  if (!/multipart\//i.test(header(m, 'content-type') ?? ''))
    return Buffer.from(partBytes(m)).toString('utf8');
  try {
    const t = multipartParts(m).find((p) => partFileName(p) === undefined);
    return t === undefined ? '' : Buffer.from(partBytes(t)).toString('utf8');
  } catch {
    return '';
  }
}

/** Names the first difference between the message the records produce and the one exported. */
function diagnoseMessage(format: Format, file: string, want: string, got: string, e: ExportEvent): Error {
  const w = parseMessage(want, file);
  const g = tryParse(got, file);
  if (g === undefined)
    return textMismatch(format, file, 'message', `event ${e.id}: the message does not parse`, e.records[0]);
  for (let i = 0; i < Math.max(w.headers.length, g.headers.length); i++) {
    const a = w.headers[i];
    const b = g.headers[i];
    if (a?.[0] !== b?.[0] || a?.[1] !== b?.[1]) {
      const field = `header ${a?.[0] ?? b?.[0] ?? '?'}`;
      return textMismatch(format, file, field, `event ${e.id}`, recordOfField(e, field));
    }
  }
  const n = firstLineDiff(textOf(w), textOf(g));
  if (n !== undefined) {
    // An "edited at" line belongs to that edit's record.
    const lines = textOf(w).split('\n');
    const edit = /^ {4}edited at /.test(lines[n] ?? '')
      ? lines.slice(0, n).filter((l) => /^ {4}edited at /.test(l)).length
      : -1;
    const field = edit >= 0 ? `text line ${n + 1} (edits[${edit}])` : `text line ${n + 1}`;
    return textMismatch(format, file, field, `event ${e.id}`, recordOfField(e, field));
  }
  return textMismatch(format, file, 'message bytes (attachments or encoding)', `event ${e.id}`, e.records[0]);
}

/** Where each event's EML file lies, as emlFiles writes them. */
function emlPaths(convs: readonly ExportConversation[]): Map<string, ExportEvent> {
  const out = new Map<string, ExportEvent>();
  for (const c of convs)
    c.events.forEach((e, i) => out.set(`eml/${fileSafe(c.id)}/${String(i + 1).padStart(6, '0')}.eml`, e));
  return out;
}

/** Compares every .eml of `contents` with the messages the opened records produce; throws TEXT_MISMATCH. */
export function compareEml(opened: OpenedExport, contents: ReadonlyMap<string, Uint8Array>): void {
  const got = new Map([...contents].filter(([p]) => p.endsWith('.eml')));
  const attachments = new Map<string, Uint8Array>();
  for (const [p, b] of got) attachmentParts(tryParse(Buffer.from(b).toString('utf8'), p), attachments);
  const convs = conversationsOf(opened, (n) => attachments.get(n));
  const eventOf = emlPaths(convs);
  for (const f of emlFiles(opened.ctx, convs)) {
    const e = eventOf.get(f.path)!;
    const b = got.get(f.path);
    if (b === undefined)
      throw textMismatch('eml', f.path, 'file', `event ${e.id} has no message`, e.records[0]);
    if (!sameBytes(f.bytes, b))
      throw diagnoseMessage(
        'eml',
        f.path,
        Buffer.from(f.bytes).toString('utf8'),
        Buffer.from(b).toString('utf8'),
        e,
      );
  }
  for (const p of got.keys())
    if (!eventOf.has(p)) throw textMismatch('eml', p, 'file', 'the message is not one the records produce');
}

// mboxrd: each message starts with a "From " line; "From " inside is quoted as ">From ".
const splitMbox = (text: string): string[] => text.split(/^(?=From )/m).filter((s) => s.length > 0);
const unquote = (chunk: string): string =>
  chunk.slice(chunk.indexOf('\n') + 1).replace(/^>(>*From )/gm, '$1');

/** Compares every .mbox of `contents` with the mailboxes the opened records produce; throws TEXT_MISMATCH. */
export function compareMbox(opened: OpenedExport, contents: ReadonlyMap<string, Uint8Array>): void {
  const got = new Map([...contents].filter(([p]) => p.endsWith('.mbox')));
  const attachments = new Map<string, Uint8Array>();
  for (const [p, b] of got)
    for (const m of splitMbox(Buffer.from(b).toString('utf8')))
      attachmentParts(tryParse(unquote(m), p), attachments);
  const convs = conversationsOf(opened, (n) => attachments.get(n));
  const convOf = new Map(convs.map((c) => [`mbox/${fileSafe(c.id)}.mbox`, c]));
  for (const f of mboxFiles(opened.ctx, convs)) {
    const c = convOf.get(f.path)!;
    const b = got.get(f.path);
    if (b === undefined)
      throw textMismatch(
        'mbox',
        f.path,
        'file',
        `conversation ${c.id} has no mailbox`,
        c.events[0]?.records[0],
      );
    if (sameBytes(f.bytes, b)) continue;
    const want = splitMbox(Buffer.from(f.bytes).toString('utf8'));
    const have = splitMbox(Buffer.from(b).toString('utf8'));
    for (let i = 0; i < Math.max(want.length, have.length); i++) {
      if (want[i] === have[i]) continue;
      const e = c.events[Math.min(i, c.events.length - 1)]!;
      if (want[i] === undefined || have[i] === undefined)
        throw textMismatch(
          'mbox',
          f.path,
          `message ${i + 1}`,
          `event ${e.id}: a message is missing or added`,
          e.records[0],
        );
      throw diagnoseMessage('mbox', `${f.path} message ${i + 1}`, unquote(want[i]!), unquote(have[i]!), e);
    }
    throw textMismatch('mbox', f.path, 'bytes', `conversation ${c.id}`);
  }
  for (const p of got.keys())
    if (!convOf.has(p)) throw textMismatch('mbox', p, 'file', 'the mailbox is not one the records produce');
}
