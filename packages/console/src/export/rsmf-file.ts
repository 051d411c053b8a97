/**
 * One `.rsmf` file: an RFC 5322 message with the X-RSMF-* headers, a quoted-printable
 * plain-text transcript, and exactly one base64 attachment `rsmf.zip` holding
 * `rsmf_manifest.json` at its root and every attachment file the manifest names.
 */
import { zipSync, type Zippable } from 'fflate';
import { isoUtc, sha256Hex } from './byte-encoding.js';
import { displayOf } from './event-model.js';
import { base64Lines, CRLF, displayPhrase, encodeWords, headerLine, quotedPrintable } from './mime.js';
import type { RenderContext } from './render-context.js';
import { checkpointsOf, conversationTitle } from './render-context.js';
import { buildRsmfManifest, collectionId, RSMF_VERSION, type RsmfManifest } from './rsmf-manifest.js';
import type { ConversationSlice } from './rsmf-slices.js';
import { transcriptText } from './transcript.js';
import { maxOf, minOf } from '../extremes.js';

/** Name of the manifest inside rsmf.zip. */
export const RSMF_MANIFEST_NAME = 'rsmf_manifest.json';
/** Name of the one attachment of an .rsmf message. */
export const RSMF_ZIP_NAME = 'rsmf.zip';
/** Custom header carrying the checkpoint(s) the file's records are proven against. */
export const CHECKPOINT_HEADER = 'X-RSMF-Custos-Checkpoint';
/** Custom header carrying the SHA-256 of the export's custody manifest. */
export const MANIFEST_HASH_HEADER = 'X-RSMF-Custos-Manifest-SHA256';

const ZIP_MIN_TIME = Date.UTC(1980, 0, 2);
const ZIP_MAX_TIME = Date.UTC(2099, 11, 31);
/**
 * Everything in rsmf.zip is stored, not deflated: deflating the manifest cost about a tenth
 * of the export's time (bench/suites/export.ts), for files nobody keeps for long.
 */
const ZIP_LEVEL = 0;

/** RFC 5322 date-time in UTC, e.g. `Mon, 05 Jan 2026 09:30:00 +0000`. */
export const rfc5322Date = (ms: number): string => new Date(ms).toUTCString().replace(/GMT$/, '+0000');

/** A file name part made of safe characters. */
export const fileSafe = (s: string): string => s.replace(/[^A-Za-z0-9_-]+/g, '_').slice(0, 60);

/** A written .rsmf file. */
export interface RsmfFile {
  readonly name: string;
  readonly bytes: Uint8Array;
  readonly manifest: RsmfManifest;
}

/** Writes the .rsmf message for one slice. */
export function buildRsmfFile(ctx: RenderContext, slice: ConversationSlice): RsmfFile {
  const { manifest, files } = buildRsmfManifest(ctx, slice);
  const zipInput: Zippable = { [RSMF_MANIFEST_NAME]: Buffer.from(JSON.stringify(manifest), 'utf8') };
  for (const f of files) zipInput[f.name] = [f.bytes, { level: 0 }];
  // A fixed mtime (the export time) keeps an export reproducible from the same records;
  // zip (DOS) dates only span 1980–2099.
  const mtime = new Date(Math.min(Math.max(ctx.exportedAt, ZIP_MIN_TIME), ZIP_MAX_TIME));
  const zip = zipSync(zipInput, { level: ZIP_LEVEL, mtime });
  const c = slice.conversation;
  const times = slice.events.map((e) => e.at);
  const begin = minOf(times);
  const end = maxOf(times);
  const partTag = slice.part.of > 1 ? `_part${slice.part.n}` : '';
  const name = `${fileSafe(c.id)}_${slice.day}${partTag}.rsmf`;
  const boundary = `custos-rsmf-${sha256Hex(`${ctx.exportId}\n${name}`).slice(0, 24)}`;
  const title = conversationTitle(ctx, c);
  const participantNames = manifest.participants.map((p) => p.display.replace(/,/g, ' ')).join(', ');
  let head = '';
  head += headerLine('From', `${displayPhrase(`${ctx.application} archive export`)} <export@custos.invalid>`);
  head += headerLine(
    'Subject',
    encodeWords(
      `${title} - ${slice.day}${slice.part.of > 1 ? ` (part ${slice.part.n} of ${slice.part.of})` : ''}`,
    ),
  );
  head += headerLine('Date', rfc5322Date(begin));
  head += headerLine(
    'Message-ID',
    `<rsmf.${sha256Hex(`${ctx.exportId}\n${name}`).slice(0, 32)}@custos.invalid>`,
  );
  head += headerLine('X-RSMF-Version', RSMF_VERSION);
  head += headerLine('X-RSMF-Generator', 'Custos export 1');
  head += headerLine('X-RSMF-BeginDate', isoUtc(begin));
  head += headerLine('X-RSMF-EndDate', isoUtc(end));
  head += headerLine('X-RSMF-EventCount', String(manifest.events.length));
  head += headerLine('X-RSMF-Application', ctx.application);
  head += headerLine('X-RSMF-Custodian', encodeWords(displayOf(ctx.names, ctx.custodian)));
  head += headerLine('X-RSMF-Participants', encodeWords(participantNames));
  head += headerLine('X-RSMF-AttachmentCount', String(files.length));
  head += headerLine('X-RSMF-EventCollectionID', collectionId(ctx, c.id));
  head += headerLine(CHECKPOINT_HEADER, checkpointsOf(ctx, slice.events).join('; '));
  head += headerLine(MANIFEST_HASH_HEADER, ctx.manifestSha256);
  head += headerLine('MIME-Version', '1.0');
  head += headerLine('Content-Type', `multipart/mixed; boundary="${boundary}"`);
  const text = transcriptText(ctx, c, slice.day, slice.part, slice.events);
  const body =
    `This is a multi-part message in MIME format.${CRLF}${CRLF}` +
    `--${boundary}${CRLF}` +
    `Content-Type: text/plain; charset="utf-8"${CRLF}` +
    `Content-Transfer-Encoding: quoted-printable${CRLF}${CRLF}` +
    quotedPrintable(text) +
    `--${boundary}${CRLF}` +
    `Content-Type: application/zip; name="${RSMF_ZIP_NAME}"${CRLF}` +
    `Content-Disposition: attachment; filename="${RSMF_ZIP_NAME}"${CRLF}` +
    `Content-Transfer-Encoding: base64${CRLF}${CRLF}` +
    base64Lines(zip) +
    `--${boundary}--${CRLF}`;
  return { name, bytes: Buffer.from(head + CRLF + body, 'utf8'), manifest };
}
