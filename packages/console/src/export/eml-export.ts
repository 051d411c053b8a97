/**
 * EML and MBOX exports: one RFC 5322 message per event, threaded per conversation. Every
 * message of a conversation names the conversation's first message in `References`; a
 * reply names the message it answers in `In-Reply-To` (others the first message), so mail
 * tools show one thread per conversation with replies nested. MBOX is the same messages
 * per conversation in one mboxrd file.
 */
import { sha256Hex } from './byte-encoding.js';
import type { ExportConversation, ExportEvent } from './event-model.js';
import { displayOf } from './event-model.js';
import { base64Lines, CRLF, displayPhrase, encodeWords, headerLine, quotedPrintable } from './mime.js';
import type { RenderContext } from './render-context.js';
import { checkpointsOf, conversationTitle } from './render-context.js';
import { fileSafe, rfc5322Date } from './rsmf-file.js';
import { eventLines } from './transcript.js';

/** Header carrying the custody manifest hash in EML exports. */
export const EML_MANIFEST_HASH_HEADER = 'X-Custos-Manifest-SHA256';

/** The Message-ID of an event (deterministic: the same event always gets the same id). */
export const messageIdOf = (ctx: RenderContext, conversation: string, eventId: string): string =>
  `<${sha256Hex(`${ctx.exportId}\n${conversation}\n${eventId}`).slice(0, 40)}@custos.invalid>`;

const mailbox = (ctx: RenderContext, address: string): string =>
  `${displayPhrase(displayOf(ctx.names, address))} <${address.replace(/[^A-Za-z0-9._-]+/g, '_')}@custos.invalid>`;

/** One event as an RFC 5322 message (CRLF). */
export function eventMessage(
  ctx: RenderContext,
  c: ExportConversation,
  e: ExportEvent,
  root: ExportEvent,
): string {
  const inConv = new Set(c.events.map((x) => x.id));
  const own = messageIdOf(ctx, c.id, e.id);
  const rootId = messageIdOf(ctx, c.id, root.id);
  const parent =
    e.replyTo !== undefined && inConv.has(e.replyTo) ? messageIdOf(ctx, c.id, e.replyTo) : undefined;
  const refs = e === root ? [] : [rootId, ...(parent !== undefined && parent !== rootId ? [parent] : [])];
  let h = '';
  h += headerLine(
    'From',
    e.participant === undefined
      ? `${displayPhrase(ctx.application)} <archive@custos.invalid>`
      : mailbox(ctx, e.participant),
  );
  const to = c.participants.filter((p) => p !== e.participant);
  if (to.length > 0) h += headerLine('To', to.map((p) => mailbox(ctx, p)).join(', '));
  h += headerLine('Subject', encodeWords(conversationTitle(ctx, c)));
  h += headerLine('Date', rfc5322Date(e.at));
  h += headerLine('Message-ID', own);
  if (refs.length > 0) {
    h += headerLine('In-Reply-To', parent ?? rootId);
    h += headerLine('References', refs.join(' '));
  }
  h += headerLine('X-Custos-Conversation', c.id);
  h += headerLine('X-Custos-Event', `${e.type} ${e.id}`);
  if (e.records.length > 0) h += headerLine('X-Custos-Records', e.records.join(' '));
  if (e.edits.length > 0) h += headerLine('X-Custos-Edited', String(e.edits.length));
  if (e.deleted !== undefined) h += headerLine('X-Custos-Deleted', rfc5322Date(e.deleted.at));
  const cps = checkpointsOf(ctx, [e]);
  if (cps.length > 0) h += headerLine('X-Custos-Checkpoint', cps.join('; '));
  h += headerLine(EML_MANIFEST_HASH_HEADER, ctx.manifestSha256);
  h += headerLine('MIME-Version', '1.0');
  const text = `${eventLines(ctx, e)
    .map((l) => l.text)
    .join('\n')}\n`;
  const files = e.attachments.filter((a) => a.bytes !== undefined);
  if (files.length === 0) {
    h += headerLine('Content-Type', 'text/plain; charset="utf-8"');
    h += headerLine('Content-Transfer-Encoding', 'quoted-printable');
    return h + CRLF + quotedPrintable(text);
  }
  const boundary = `custos-${sha256Hex(own).slice(0, 24)}`;
  h += headerLine('Content-Type', `multipart/mixed; boundary="${boundary}"`);
  let body = `--${boundary}${CRLF}Content-Type: text/plain; charset="utf-8"${CRLF}Content-Transfer-Encoding: quoted-printable${CRLF}${CRLF}${quotedPrintable(text)}`;
  for (const a of files) {
    body += `--${boundary}${CRLF}`;
    body += headerLine(
      'Content-Type',
      `${a.ref.contentType.replace(/[^A-Za-z0-9!#$&^_.+/-]/g, '')}; name="${a.fileName}"`,
    );
    body += headerLine('Content-Disposition', `attachment; filename="${a.fileName}"`);
    body += headerLine('Content-Transfer-Encoding', 'base64');
    body += CRLF + base64Lines(a.bytes!);
  }
  return `${h}${CRLF}${body}--${boundary}--${CRLF}`;
}

/** One .eml file per event: `eml/<conversation>/<nnnnnn>.eml`. */
export function emlFiles(
  ctx: RenderContext,
  convs: readonly ExportConversation[],
): { path: string; bytes: Uint8Array }[] {
  const out: { path: string; bytes: Uint8Array }[] = [];
  for (const c of convs) {
    const root = c.events[0];
    if (root === undefined) continue;
    c.events.forEach((e, i) => {
      out.push({
        path: `eml/${fileSafe(c.id)}/${String(i + 1).padStart(6, '0')}.eml`,
        bytes: Buffer.from(eventMessage(ctx, c, e, root), 'utf8'),
      });
    });
  }
  return out;
}

/** One mboxrd file per conversation: `mbox/<conversation>.mbox` (LF line ends, `>From ` quoting). */
export function mboxFiles(
  ctx: RenderContext,
  convs: readonly ExportConversation[],
): { path: string; bytes: Uint8Array }[] {
  return convs.flatMap((c) => {
    const root = c.events[0];
    if (root === undefined) return [];
    const parts = c.events.map((e) => {
      const msg = eventMessage(ctx, c, e, root)
        .replace(/\r\n/g, '\n')
        .replace(/^(>*From )/gm, '>$1');
      const date = new Date(e.at)
        .toUTCString()
        .replace(/^(\w+), (\d+) (\w+) (\d+) ([\d:]+) GMT$/, '$1 $3 $2 $5 $4');
      return `From ${e.participant ?? 'archive'}@custos.invalid ${date}\n${msg}\n`;
    });
    return [{ path: `mbox/${fileSafe(c.id)}.mbox`, bytes: Buffer.from(parts.join(''), 'utf8') }];
  });
}
