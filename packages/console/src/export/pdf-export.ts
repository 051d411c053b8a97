/**
 * The PDF transcript (pdf-lib, standard fonts): A4 pages, each headed with the custodian,
 * date range, checkpoint and page number; conversations in turn, days marked, times in
 * UTC; deleted messages in red and marked [DELETED], edited ones marked [EDITED] with
 * every earlier version below. Standard PDF fonts only cover WinAnsi (Western European),
 * and no font file ships with the installed packages, so any other character is printed
 * as a visible `[U+XXXX]` marker — said on the first page and in docs/exports.md; the
 * exact text is in the JSON/RSMF/EML exports.
 */
import { PDFDocument, StandardFonts, rgb, type PDFFont, type PDFPage } from 'pdf-lib';
import type { ExportConversation } from './event-model.js';
import { utcDay } from './event-model.js';
import type { RenderContext } from './render-context.js';
import { checkpointsOf, who } from './render-context.js';
import { eventLines, sliceHeader, type TranscriptLine } from './transcript.js';

const PAGE: [number, number] = [595.28, 841.89]; // A4 in points
const MARGIN = 50;
const SIZE = 9;
const LEAD = 12;
const HEADER_SIZE = 7.5;
const BODY_TOP = PAGE[1] - MARGIN - 3 * LEAD;
const RED = rgb(0.7, 0.05, 0.05);
const GREY = rgb(0.35, 0.35, 0.35);

/** Replaces every character `font` cannot encode with a visible `[U+XXXX]`; counts them. */
export function winAnsiSafe(
  text: string,
  supported: ReadonlySet<number>,
): { text: string; replaced: number } {
  let out = '';
  let replaced = 0;
  for (const ch of text) {
    const cp = ch.codePointAt(0)!;
    if (supported.has(cp)) out += ch;
    else if (cp === 0x09) out += '    ';
    else {
      out += `[U+${cp.toString(16).toUpperCase().padStart(4, '0')}]`;
      replaced++;
    }
  }
  return { text: out, replaced };
}

/** Splits `text` into lines no wider than `width` at `size` (breaking long words too). */
function wrap(font: PDFFont, text: string, width: number): string[] {
  const out: string[] = [];
  let cur = '';
  for (const word of text.split(/(\s+)/)) {
    const next = cur + word;
    if (font.widthOfTextAtSize(next, SIZE) <= width) {
      cur = next;
      continue;
    }
    if (cur.trim().length > 0) out.push(cur.trimEnd());
    cur = word.trimStart();
    while (font.widthOfTextAtSize(cur, SIZE) > width) {
      let n = cur.length - 1;
      while (n > 1 && font.widthOfTextAtSize(cur.slice(0, n), SIZE) > width) n--;
      out.push(cur.slice(0, n));
      cur = cur.slice(n);
    }
  }
  if (cur.length > 0 || out.length === 0) out.push(cur);
  return out;
}

/** Renders the transcript PDF of `convs`. */
export async function pdfTranscript(
  ctx: RenderContext,
  convs: readonly ExportConversation[],
  range: { begin: string; end: string },
): Promise<Uint8Array> {
  const doc = await PDFDocument.create();
  const fonts = {
    regular: await doc.embedFont(StandardFonts.Helvetica),
    bold: await doc.embedFont(StandardFonts.HelveticaBold),
    italic: await doc.embedFont(StandardFonts.HelveticaOblique),
  };
  const supported = new Set(fonts.regular.getCharacterSet());
  const when = new Date(ctx.exportedAt);
  doc.setTitle(`${ctx.application} archive export - ${who(ctx, ctx.custodian)}`);
  doc.setCreator('Custos export 1');
  doc.setProducer('Custos export 1 (pdf-lib)');
  doc.setCreationDate(when);
  doc.setModificationDate(when);
  let replaced = 0;
  const safe = (s: string): string => {
    const r = winAnsiSafe(s, supported);
    replaced += r.replaced;
    return r.text;
  };
  // Lay everything out as lines first, then paginate, so headers can say "page n of m".
  const lines: (TranscriptLine & { red?: boolean })[] = [];
  const allEvents = convs.flatMap((c) => c.events);
  lines.push({ text: `${ctx.application} archive export: transcript`, style: 'heading' });
  lines.push({ text: `Custodian: ${who(ctx, ctx.custodian)}`, style: 'meta' });
  lines.push({ text: `Events from ${range.begin} to ${range.end} (all times UTC)`, style: 'meta' });
  lines.push({ text: `Conversations: ${convs.length}; events: ${allEvents.length}`, style: 'meta' });
  for (const cp of checkpointsOf(ctx, allEvents))
    lines.push({ text: `Log checkpoint: ${cp}`, style: 'meta' });
  lines.push({ text: `Custody manifest SHA-256: ${ctx.manifestSha256}`, style: 'meta' });
  lines.push({
    text: 'Verify this export offline with: custos verify <export directory>. This PDF is a reading copy; the custody manifest and sealed records are the evidence.',
    style: 'detail',
  });
  const noteAt = lines.push({ text: '', style: 'detail' }) - 1; // filled in once `replaced` is known
  for (const c of convs) {
    lines.push({ text: '', style: 'meta' });
    lines.push(
      ...sliceHeader(
        ctx,
        c,
        `${utcDay(c.events[0]?.at ?? 0)} to ${utcDay(c.events.at(-1)?.at ?? 0)}`,
        { n: 1, of: 1 },
        c.events,
      ),
    );
    let day = '';
    for (const e of c.events) {
      const d = utcDay(e.at);
      if (d !== day) {
        day = d;
        lines.push({ text: `--- ${d} ---`, style: 'heading' });
      }
      for (const l of eventLines(ctx, e))
        lines.push({ ...l, ...(e.deleted === undefined ? {} : { red: true }) });
    }
  }
  const laidOut = lines.map((l) => ({ ...l, text: safe(l.text) }));
  laidOut[noteAt] = {
    text:
      replaced === 0
        ? 'Every character of the text is shown as written.'
        : `${replaced} character(s) outside the PDF standard fonts' Western character set are shown as [U+XXXX] (their Unicode code point); the JSON, EML and RSMF exports carry the exact text.`,
    style: 'detail',
  };
  const width = PAGE[0] - 2 * MARGIN;
  const pages: { page: PDFPage; y: number }[] = [];
  const newPage = (): { page: PDFPage; y: number } => {
    const p = { page: doc.addPage(PAGE), y: BODY_TOP };
    pages.push(p);
    return p;
  };
  let cur = newPage();
  for (const l of laidOut) {
    const font = l.style === 'heading' ? fonts.bold : l.style === 'marker' ? fonts.italic : fonts.regular;
    const indent = l.style === 'detail' ? 14 : 0;
    for (const [i, piece] of wrap(font, l.text, width - indent - (l.style === 'message' ? 0 : 0)).entries()) {
      if (cur.y < MARGIN + LEAD) cur = newPage();
      cur.page.drawText(piece, {
        x: MARGIN + indent + (i > 0 ? 14 : 0),
        y: cur.y,
        size: SIZE,
        font,
        color: l.red === true ? RED : l.style === 'detail' ? GREY : rgb(0, 0, 0),
      });
      cur.y -= LEAD;
    }
  }
  const head = safe(
    `${ctx.application} archive export - custodian ${who(ctx, ctx.custodian)} - ${range.begin} to ${range.end}`,
  );
  const cpLine = safe(`Checkpoint ${checkpointsOf(ctx, allEvents).join('; ')}`);
  pages.forEach(({ page }, i) => {
    const top = PAGE[1] - MARGIN;
    page.drawText(head, { x: MARGIN, y: top, size: HEADER_SIZE, font: fonts.bold });
    for (const [j, piece] of wrap(fonts.regular, cpLine, width).slice(0, 1).entries())
      page.drawText(piece, {
        x: MARGIN,
        y: top - LEAD * (j + 1),
        size: HEADER_SIZE,
        font: fonts.regular,
        color: GREY,
      });
    page.drawText(`Page ${i + 1} of ${pages.length}`, {
      x: PAGE[0] - MARGIN - 60,
      y: MARGIN / 2,
      size: HEADER_SIZE,
      font: fonts.regular,
    });
    page.drawLine({
      start: { x: MARGIN, y: top - LEAD * 1.6 },
      end: { x: PAGE[0] - MARGIN, y: top - LEAD * 1.6 },
      thickness: 0.5,
      color: GREY,
    });
  });
  return doc.save({ useObjectStreams: true });
}
