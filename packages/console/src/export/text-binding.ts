/**
 * Binding an export's text to its sealed records (docs/exports.md §6 step 7, §7). A custody
 * manifest of version 2 carries each record's own key; here every sealed record is opened
 * with it alone (AES-256-GCM, header bytes as aad), its body decoded, and the renderings
 * the export holds are rebuilt from those bodies with the exporter's own code and compared:
 * export.json, every .rsmf, .eml and .mbox byte for byte, a difference named by format,
 * file, record and field. The PDF is a rendering that is not compared (its text is laid
 * out, and partly replaced, by the PDF writer); its records are opened all the same.
 * Attachment bytes are taken from the export itself: the record binds only the encrypted
 * blob's digest, and the blob is not in the export.
 */
import {
  isCustosError,
  openRecordWithKey,
  openWithRecordKey,
  parseRecord,
  type RecordHash,
} from '@custos/core';
import { fromBase64, fromBase64Url, fromHex } from './byte-encoding.js';
import { checkpointSummary, CUSTODY_MANIFEST_FILE, type CustodyManifest } from './custody-manifest.js';
import { enrolledUsers } from './device-enrolments.js';
import {
  buildConversations,
  directionView,
  type DirectionView,
  type ExportConversation,
  type ExportEvent,
} from './event-model.js';
import { ExportError } from './export-error.js';
import type { ExportFormat, ExportRecord } from './export-types.js';
import type { RenderContext } from './render-context.js';

/** What the text binding established. */
export interface TextBindingReport {
  /**
   * `verified`: every record opened with its key from the manifest and the export's
   * rendering equals what the records produce; `records-opened`: every record opened, the
   * rendering (a PDF) not compared; `not-checked`: a version-1 manifest, which carries no
   * record keys (custody is still proven, the text is not bound).
   */
  readonly textBinding: 'verified' | 'records-opened' | 'not-checked';
  /** The formats compared with the opened records (none for a PDF export). */
  readonly textCompared: readonly ExportFormat[];
}

/** The records and rendering context a v2 manifest reproduces, for the comparisons. */
export interface OpenedExport {
  readonly records: readonly ExportRecord[];
  readonly ctx: RenderContext;
  /** Whose view message directions take: the manifest's custodian, the devices' proven users. */
  readonly view: DirectionView;
}

/** A failed comparison: the export's `file` (in `format`) differs from the records at `field`. */
export function textMismatch(
  format: string,
  file: string,
  field: string,
  what: string,
  record?: string,
): ExportError {
  const rec = record === undefined ? '' : ` (record ${record.slice(0, 16)}…)`;
  return new ExportError(
    'TEXT_MISMATCH',
    `${file}: ${what}${rec} — ${field} differs from what the sealed records hold`,
    { file, format, field, ...(record === undefined ? {} : { record }) },
  );
}

/**
 * Opens every record of `m` (version 2) with its record key and checks that the body names
 * the message, conversation and kind the manifest states. Throws RECORD_KEY_INVALID naming
 * a record whose key does not open it (a wrong or swapped key, or changed sealed bytes),
 * TEXT_MISMATCH when a manifest fact differs from the body. The devices' users come from
 * `enrolments` (`device-enrolments.json`), checked again here as the export checked them, so
 * directions are rendered from the same proven facts as at export time.
 */
export function openWithRecordKeys(
  m: CustodyManifest,
  sealed: Uint8Array,
  manifestSha256: string,
  enrolments: Uint8Array | undefined,
): OpenedExport {
  const users = enrolledUsers(m, enrolments);
  const records = m.records.map((r): ExportRecord => {
    const who = `record ${r.hash.slice(0, 16)}… (device ${r.device}, seq ${r.seq})`;
    const key = r.recordKey === undefined ? undefined : fromBase64Url(r.recordKey);
    if (key === undefined)
      throw new ExportError('EXPORT_MALFORMED', `${who} has no record key`, { file: CUSTODY_MANIFEST_FILE });
    const bytes = sealed.subarray(r.offset, r.offset + r.size);
    let opened: ReturnType<typeof openRecordWithKey>;
    try {
      opened = openRecordWithKey(key, bytes);
    } catch (e) {
      throw new ExportError(
        'RECORD_KEY_INVALID',
        `${who}: its record key in the custody manifest does not open it (${isCustosError(e) ? e.code : 'error'})`,
        { file: CUSTODY_MANIFEST_FILE, record: r.hash },
        e,
      );
    } finally {
      key.fill(0);
    }
    const b = opened.body;
    const fact = (field: string, want: string, got: string): void => {
      if (want !== got)
        throw textMismatch('custody', CUSTODY_MANIFEST_FILE, `records[].${field}`, who, r.hash);
    };
    fact('messageId', b.messageId, r.messageId);
    fact('conversation', b.conversationId, r.conversation);
    fact('kind', b.kind, r.kind);
    const batch = m.batches[r.batch]!;
    return {
      sealed: bytes,
      hash: fromHex(r.hash)! as RecordHash,
      header: opened.header,
      body: b,
      batch: {
        firstSeq: batch.firstSeq,
        hashes: [],
        signature: fromBase64(batch.signature)!,
        identityKey: fromBase64(batch.identityKey)!,
      },
      log: { index: r.logIndex, loggedAt: r.loggedAt, proof: [], checkpoint: m.checkpoints[r.checkpoint]! },
    };
  });
  const summaries = m.checkpoints.map(checkpointSummary);
  const cpOf = new Map(m.records.map((r) => [r.hash, summaries[r.checkpoint]!]));
  const ctx: RenderContext = {
    custodian: m.custodian,
    names: new Map(Object.entries(m.displayNames ?? {})),
    application: m.application ?? '',
    exportId: m.exportId,
    exportedAt: Date.parse(m.exportedAt),
    manifestSha256,
    checkpointOf: (h) => cpOf.get(h) ?? 'unknown',
  };
  return { records, ctx, view: directionView(m.custodian, users) };
}

/**
 * The export-time part of the text binding (build-export.ts): every record key of `m`
 * (version 2) opens its sealed record. The bodies the renderings were made from are the
 * ones the console opened with the session key; a key that opens the same ciphertext and
 * tag gives the same plaintext (finding another AES-GCM key that authenticates a
 * ciphertext the device made is not feasible), so the body is not decoded again here, and
 * the renderings — made by the same code from the same bodies and the manifest's context —
 * are compared by `custos verify` (and by the tests for every format), not twice per export.
 */
export function checkRecordKeys(m: CustodyManifest, sealed: Uint8Array): void {
  if (m.version === 1) return;
  for (const r of m.records) {
    const key = r.recordKey === undefined ? undefined : fromBase64Url(r.recordKey);
    try {
      if (key === undefined) throw new Error('no record key');
      const p = parseRecord(sealed.subarray(r.offset, r.offset + r.size));
      openWithRecordKey(key, p.headerBytes, p.sealedBody).fill(0);
    } catch (e) {
      throw new ExportError(
        'RECORD_KEY_INVALID',
        `record ${r.hash.slice(0, 16)}… (device ${r.device}, seq ${r.seq}): its record key does not open it (${isCustosError(e) ? e.code : 'missing'})`,
        { file: CUSTODY_MANIFEST_FILE, record: r.hash },
        e,
      );
    } finally {
      key?.fill(0);
    }
  }
}

/**
 * The conversations `opened`'s records produce, with attachment bytes taken from the export's own
 * files (`fileBytes(name)`, by the file name the event model gives each attachment): a blob
 * whose file is present counts as exported for every record that names it, as when the
 * console fetched it once. The event model is built twice: attachment file names come from
 * the first pass (they do not depend on the bytes).
 */
export function conversationsOf(
  opened: OpenedExport,
  fileBytes: (name: string) => Uint8Array | undefined,
): ExportConversation[] {
  const { records, view } = opened;
  const first = buildConversations(records, view);
  const blobs = new Map<string, Uint8Array>();
  for (const c of first)
    for (const e of c.events)
      for (const a of e.attachments) {
        const b = fileBytes(a.fileName);
        if (b !== undefined && !blobs.has(a.ref.blobId)) blobs.set(a.ref.blobId, b);
      }
  if (blobs.size === 0) return first;
  const withBytes = records.map((r) => {
    const own = r.body.attachments.filter((a) => blobs.has(a.blobId));
    return own.length === 0
      ? r
      : { ...r, attachments: new Map(own.map((a) => [a.blobId, blobs.get(a.blobId)!])) };
  });
  return buildConversations(withBytes, view);
}

/** Every event of `convs` by `conversation \n event id`. */
export function eventIndex(
  convs: readonly ExportConversation[],
): Map<string, { c: ExportConversation; e: ExportEvent; i: number }> {
  const out = new Map<string, { c: ExportConversation; e: ExportEvent; i: number }>();
  for (const c of convs) c.events.forEach((e, i) => out.set(`${c.id}\n${e.id}`, { c, e, i }));
  return out;
}

/** The record an event's field comes from: an edit's own record for `edits[k]`, else the event's first. */
export function recordOfField(e: ExportEvent, field: string): string | undefined {
  const m = /edits\[(\d+)\]/.exec(field);
  if (m !== null) return e.edits[Number(m[1])]?.recordHash ?? e.records[0];
  if (/deleted/.test(field) && e.deleted !== undefined) return e.deleted.recordHash;
  return e.records[0];
}
