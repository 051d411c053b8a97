/**
 * RSMF text binding (text-binding.ts): every .rsmf file is rebuilt from the opened records
 * — the slice its manifest names (conversation, UTC day, part, events) rendered by the
 * exporter's own buildRsmfFile — and compared byte for byte; a difference is named by the
 * first differing manifest field, else transcript line, else header. Every event the
 * records produce must appear in exactly one file.
 */
import { unzipSync } from 'fflate';
import { utcDay, type ExportEvent } from './event-model.js';
import { multipartParts, parseMessage, partBytes, partFileName, type MimePart } from './mime.js';
import type { RenderContext } from './render-context.js';
import { buildRsmfFile, RSMF_MANIFEST_NAME, RSMF_ZIP_NAME, type RsmfFile } from './rsmf-file.js';
import { disclaimerEvent, type ConversationSlice } from './rsmf-slices.js';
import {
  conversationsOf,
  eventIndex,
  recordOfField,
  textMismatch,
  type OpenedExport,
} from './text-binding.js';
import { firstJsonDiff, firstLineDiff, indexIn, sameBytes } from './text-diff.js';
import { eventLines, sliceHeader } from './transcript.js';

interface RsmfParts {
  readonly path: string;
  readonly bytes: Uint8Array;
  readonly headers: readonly (readonly [string, string])[];
  /** The transcript part, still quoted-printable (decoded only to name a difference). */
  readonly transcriptPart: MimePart;
  readonly manifest: Record<string, unknown>;
  readonly files: ReadonlyMap<string, Uint8Array>;
}

type Obj = Record<string, unknown>;
const isObj = (v: unknown): v is Obj => typeof v === 'object' && v !== null && !Array.isArray(v);

// The files were already checked against the RSMF rules (rsmf-check.ts); a file that
// cannot be read here fails as a mismatch rather than crashing.
function parseRsmf(path: string, bytes: Uint8Array): RsmfParts {
  const unreadable = (what: string): Error => textMismatch('rsmf', path, what, 'the file cannot be read');
  const msg = parseMessage(Buffer.from(bytes).toString('utf8'), path);
  const parts = multipartParts(msg, path);
  const text = parts.find((p) => partFileName(p) === undefined);
  const zipPart = parts.find((p) => partFileName(p) === RSMF_ZIP_NAME);
  if (text === undefined || zipPart === undefined) throw unreadable('structure');
  let files: Record<string, Uint8Array>;
  try {
    files = unzipSync(partBytes(zipPart));
  } catch {
    throw unreadable(RSMF_ZIP_NAME);
  }
  const raw = files[RSMF_MANIFEST_NAME];
  let manifest: unknown;
  try {
    manifest = raw === undefined ? undefined : JSON.parse(Buffer.from(raw).toString('utf8'));
  } catch {
    manifest = undefined;
  }
  if (!isObj(manifest)) throw unreadable(RSMF_MANIFEST_NAME);
  const rest = new Map(Object.entries(files).filter(([n]) => n !== RSMF_MANIFEST_NAME));
  return {
    path,
    bytes,
    headers: msg.headers,
    transcriptPart: text,
    manifest,
    files: rest,
  };
}

const DAY_LINE = /^Day: (\d{4}-\d\d-\d\d) \(all times UTC\)(?:, part (\d+) of (\d+))?$/m;

/** Compares every .rsmf of `contents` with the RSMF the opened records produce; throws TEXT_MISMATCH. */
export function compareRsmf(opened: OpenedExport, contents: ReadonlyMap<string, Uint8Array>): void {
  const parsed = [...contents].filter(([p]) => p.endsWith('.rsmf')).map(([p, b]) => parseRsmf(p, b));
  const attachments = new Map<string, Uint8Array>();
  for (const f of parsed) for (const [n, b] of f.files) attachments.set(n, b);
  const convs = conversationsOf(opened, (n) => attachments.get(n));
  const index = eventIndex(convs);
  const byId = new Map(convs.map((c) => [c.id, c]));
  const seen = new Set<string>();
  for (const f of parsed) {
    const conv = Array.isArray(f.manifest.conversations)
      ? (f.manifest.conversations as unknown[])[0]
      : undefined;
    const convId = isObj(conv) && typeof conv.id === 'string' ? conv.id : '';
    const c = byId.get(convId);
    if (c === undefined)
      throw textMismatch(
        'rsmf',
        f.path,
        'conversations[0].id',
        'the conversation is not one the records name',
      );
    // The day line is short printable ASCII, which quoted-printable leaves as it is.
    const dayMatch = DAY_LINE.exec(f.transcriptPart.body);
    if (dayMatch === null)
      throw textMismatch('rsmf', f.path, 'transcript line 2', 'the day line is not readable');
    const day = dayMatch[1]!;
    const part = { n: Number(dayMatch[2] ?? 1), of: Number(dayMatch[3] ?? 1) };
    const events = Array.isArray(f.manifest.events) ? (f.manifest.events as unknown[]) : [];
    const ids = new Set<string>();
    events.forEach((e, i) => {
      if (!isObj(e) || e.type === 'disclaimer') return;
      const key = `${c.id}\n${String(e.id)}`;
      if (!index.has(key))
        throw textMismatch(
          'rsmf',
          f.path,
          `events[${i}].id`,
          `event ${String(e.id)} is not one the records produce`,
        );
      if (seen.has(key))
        throw textMismatch(
          'rsmf',
          f.path,
          `events[${i}].id`,
          `event ${String(e.id)} appears in a second file`,
        );
      seen.add(key);
      ids.add(String(e.id));
    });
    const chunk = c.events.filter((e) => ids.has(e.id) && utcDay(e.at) === day);
    const d = disclaimerEvent(c, day, part.n, chunk);
    const slice: ConversationSlice = {
      conversation: c,
      day,
      part,
      events: d === undefined ? chunk : [d, ...chunk],
    };
    const want = buildRsmfFile(opened.ctx, slice);
    if (`rsmf/${want.name}` !== f.path)
      throw textMismatch('rsmf', f.path, 'file name', `the records put this slice in rsmf/${want.name}`);
    if (!sameBytes(want.bytes, f.bytes)) throw diagnose(opened.ctx, slice, want, f);
  }
  for (const [key, { e }] of index)
    if (!seen.has(key))
      throw textMismatch(
        'rsmf',
        'rsmf/',
        'events',
        `event ${e.id} of conversation ${key.split('\n')[0]!} is in no RSMF file`,
        e.records[0],
      );
}

function diagnose(ctx: RenderContext, slice: ConversationSlice, want: RsmfFile, f: RsmfParts): Error {
  const m = firstJsonDiff(want.manifest, f.manifest);
  if (m !== undefined) {
    const i = indexIn(m, 'events');
    const e = i === undefined ? undefined : slice.events[i];
    return textMismatch(
      'rsmf',
      f.path,
      `${RSMF_MANIFEST_NAME} ${m}`,
      e === undefined ? 'the RSMF manifest' : `event ${e.id}`,
      e === undefined ? undefined : recordOfField(e, m),
    );
  }
  const head = sliceHeader(ctx, slice.conversation, slice.day, slice.part, slice.events).map((l) => l.text);
  const owner: (ExportEvent | undefined)[] = [...head.map(() => undefined), undefined];
  const lines = [...head, ''];
  for (const e of slice.events)
    for (const l of eventLines(ctx, e)) {
      lines.push(l.text);
      owner.push(e);
    }
  const transcript = Buffer.from(partBytes(f.transcriptPart)).toString('utf8');
  const n = firstLineDiff(`${lines.join('\n')}\n`, transcript);
  if (n !== undefined) {
    const e = owner[n];
    return textMismatch(
      'rsmf',
      f.path,
      `transcript line ${n + 1}`,
      e === undefined ? 'the transcript heading' : `event ${e.id}`,
      e?.records[0],
    );
  }
  const wantHeaders = parseMessage(Buffer.from(want.bytes).toString('utf8'), f.path).headers;
  for (let i = 0; i < Math.max(wantHeaders.length, f.headers.length); i++) {
    const w = wantHeaders[i];
    const g = f.headers[i];
    if (w?.[0] !== g?.[0] || w?.[1] !== g?.[1])
      return textMismatch('rsmf', f.path, `header ${w?.[0] ?? g?.[0] ?? '?'}`, 'the RSMF message');
  }
  return textMismatch('rsmf', f.path, 'attachments', 'the RSMF message');
}
