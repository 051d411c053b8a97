/**
 * JSON text binding (text-binding.ts): export.json must be exactly the document the opened
 * records produce (the exporter's own jsonFiles); a difference is named by its JSON path
 * and the record it belongs to. Attachment files under attachments/ must be the ones the
 * events name.
 */
import { toHex } from './byte-encoding.js';
import { jsonFiles } from './json-export.js';
import { conversationsOf, recordOfField, textMismatch, type OpenedExport } from './text-binding.js';
import { firstJsonDiff, indexIn, sameBytes } from './text-diff.js';

const FILE = 'export.json';
const ATTACHMENTS = 'attachments/';

function parse(b: Uint8Array): unknown {
  try {
    return JSON.parse(Buffer.from(b).toString('utf8'));
  } catch {
    return undefined;
  }
}

/** Compares export.json (when the export has one) with the document the opened records produce; throws TEXT_MISMATCH. */
export function compareJson(opened: OpenedExport, contents: ReadonlyMap<string, Uint8Array>): void {
  const got = contents.get(FILE);
  if (got === undefined) return;
  const convs = conversationsOf(opened, (n) => contents.get(`${ATTACHMENTS}${n}`));
  const files = jsonFiles(opened.ctx, opened.records, convs);
  const want = files.find((f) => f.path === FILE)!;
  if (!sameBytes(want.bytes, got)) {
    const path = firstJsonDiff(parse(want.bytes), parse(got)) ?? '(formatting)';
    const r = indexIn(path, 'records');
    if (r !== undefined) {
      const rec = opened.records[r];
      throw textMismatch('json', FILE, path, 'a record', rec === undefined ? undefined : toHex(rec.hash));
    }
    const c = indexIn(path, 'conversations');
    const conv = c === undefined ? undefined : convs[c];
    const ev = conv === undefined ? undefined : indexIn(path, `conversations[${c}].events`);
    const e = ev === undefined ? undefined : conv?.events[ev];
    throw textMismatch(
      'json',
      FILE,
      path,
      e === undefined ? 'the document' : `event ${e.id}`,
      e === undefined ? undefined : recordOfField(e, path),
    );
  }
  const named = new Set(files.map((f) => f.path).filter((p) => p.startsWith(ATTACHMENTS)));
  for (const p of contents.keys())
    if (p.startsWith(ATTACHMENTS) && !named.has(p))
      throw textMismatch('json', p, 'file', 'no event names this attachment file');
}
