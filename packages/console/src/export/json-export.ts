/**
 * The JSON export: `export.json` with every record (header facts, the decrypted body
 * without attachment keys, its custody facts) and the conversations as reviewable events,
 * plus `attachments/<file>` for the attachment bytes the export has.
 */
import type { ExportConversation } from './event-model.js';
import { isoUtc, toHex } from './byte-encoding.js';
import type { ExportRecord } from './export-types.js';
import type { RenderContext } from './render-context.js';
import { buildRsmfManifest } from './rsmf-manifest.js';

/** Value of export.json's `format` field. */
export const JSON_EXPORT_FORMAT = 'custos-export-json';

/** The body of a record as exported: everything but attachment keys, bytes as hex. */
function bodyJson(r: ExportRecord, fileOf: ReadonlyMap<string, string>): Record<string, unknown> {
  const b = r.body;
  return {
    direction: b.direction,
    kind: b.kind,
    messageId: b.messageId,
    conversation: b.conversationId,
    participants: b.participants,
    sender: b.sender,
    sentAt: isoUtc(b.sentAt),
    ...(b.receivedAt === undefined ? {} : { receivedAt: isoUtc(b.receivedAt) }),
    ...(b.serverAt === undefined ? {} : { serverAt: isoUtc(b.serverAt) }),
    ...(b.text === undefined ? {} : { text: b.text }),
    // The content key is left out on purpose: an export hands over content, not keys.
    attachments: b.attachments.map((a) => ({
      blobId: a.blobId,
      encryptedSha256: toHex(a.digest),
      size: a.size,
      contentType: a.contentType,
      ...(a.fileName === undefined ? {} : { fileName: a.fileName }),
      ...(fileOf.has(a.blobId) ? { file: `attachments/${fileOf.get(a.blobId)!}` } : {}),
    })),
    ...(b.edits === undefined ? {} : { edits: b.edits }),
    ...(b.replyTo === undefined ? {} : { replyTo: b.replyTo }),
    ...(b.deletes === undefined ? {} : { deletes: b.deletes }),
    ...(b.reactsTo === undefined ? {} : { reactsTo: b.reactsTo }),
    ...(b.reaction === undefined ? {} : { reaction: b.reaction }),
    ...(b.added === undefined ? {} : { added: b.added }),
    ...(b.removed === undefined ? {} : { removed: b.removed }),
    ...(b.timerSeconds === undefined ? {} : { timerSeconds: b.timerSeconds }),
    archiveNotice: b.archiveNotice,
    envelopeHashes: b.envelopeHashes.map(toHex),
  };
}

/** The files of a JSON export. */
export function jsonFiles(
  ctx: RenderContext,
  records: readonly ExportRecord[],
  convs: readonly ExportConversation[],
): { path: string; bytes: Uint8Array }[] {
  const out: { path: string; bytes: Uint8Array }[] = [];
  const fileOf = new Map<string, string>();
  for (const c of convs)
    for (const e of c.events)
      for (const a of e.attachments)
        if (a.bytes !== undefined && !fileOf.has(a.ref.blobId)) {
          fileOf.set(a.ref.blobId, a.fileName);
          out.push({ path: `attachments/${a.fileName}`, bytes: a.bytes });
        }
  const doc = {
    format: JSON_EXPORT_FORMAT,
    version: 1,
    exportId: ctx.exportId,
    exportedAt: isoUtc(ctx.exportedAt),
    custodian: ctx.custodian,
    custodyManifestSha256: ctx.manifestSha256,
    displayNames: Object.fromEntries([...(ctx.names ?? new Map<string, string>())].sort()),
    records: records.map((r) => ({
      hash: toHex(r.hash),
      org: r.header.org,
      device: r.header.device,
      bucket: r.header.bucket,
      seq: r.header.seq,
      logIndex: r.log.index,
      checkpoint: ctx.checkpointOf(toHex(r.hash)),
      body: bodyJson(r, fileOf),
    })),
    conversations: convs.map((c) => {
      const { manifest } = buildRsmfManifest(ctx, {
        conversation: c,
        day: 'all',
        part: { n: 1, of: 1 },
        events: c.events,
      });
      return {
        id: c.id,
        type: c.type,
        name: c.name ?? null,
        participants: c.participants,
        events: manifest.events,
      };
    }),
  };
  out.push({ path: 'export.json', bytes: Buffer.from(`${JSON.stringify(doc, null, 1)}\n`, 'utf8') });
  return out;
}
