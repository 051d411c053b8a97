/**
 * The RSMF 2.0 manifest of one slice (rsmf_manifest.json; schema in
 * ../shared/reference/rsmf/rsmf_schema_2_0_0.json). Every id it references is defined in
 * it: participants are gathered from every event, edit, reaction and receipt; a reply's
 * `parent` is set only when the parent is in the same file (otherwise a custom field
 * names it), and only attachments whose bytes are in the zip are listed as attachments.
 */
import { displayOf, type ExportEvent } from './event-model.js';
import { isoUtc } from './byte-encoding.js';
import type { RenderContext } from './render-context.js';
import { conversationTitle } from './render-context.js';
import type { ConversationSlice } from './rsmf-slices.js';

/** The RSMF version Custos writes. */
export const RSMF_VERSION = '2.0.0';
/** The platform name in conversations. */
export const RSMF_PLATFORM = 'custos';

/** A name/value pair of RSMF `custom` lists (values non-empty). */
export interface RsmfCustom {
  readonly name: string;
  readonly value: string;
}

/** An RSMF 2.0 event as Custos writes it. */
export interface RsmfEvent {
  readonly id: string;
  readonly type: ExportEvent['type'];
  readonly conversation: string;
  readonly timestamp: string;
  readonly participant?: string;
  readonly body?: string;
  readonly parent?: string;
  readonly direction?: 'incoming' | 'outgoing';
  readonly deleted?: boolean;
  readonly attachments?: { id: string; display: string; size: number }[];
  readonly edits?: { participant: string; timestamp: string; previous: string; new: string }[];
  readonly reactions?: { value: string; count: number; participants: string[] }[];
  readonly read_receipts?: { participant: string; timestamp: string; action: 'read' | 'delivered' }[];
  readonly custom?: RsmfCustom[];
}

/** An RSMF 2.0 manifest. */
export interface RsmfManifest {
  readonly version: string;
  readonly participants: { id: string; display: string; account_id: string }[];
  readonly conversations: {
    id: string;
    display: string;
    platform: string;
    type: 'direct' | 'channel';
    participants: string[];
    custodian?: string;
    custom?: RsmfCustom[];
  }[];
  readonly events: RsmfEvent[];
  readonly eventcollectionid: string;
}

/** The files an RSMF slice's zip holds besides the manifest. */
export interface RsmfAttachmentFile {
  readonly name: string;
  readonly bytes: Uint8Array;
}

function mapEvent(
  e: ExportEvent,
  inFile: ReadonlySet<string>,
  files: RsmfAttachmentFile[],
  people: Set<string>,
): RsmfEvent {
  const custom: RsmfCustom[] = [];
  const add = (p: string | undefined): void => void (p !== undefined && people.add(p));
  add(e.participant);
  if (e.records.length > 0) custom.push({ name: 'custos_records', value: e.records.join(' ') });
  if (e.type === 'message' && e.replyTo !== undefined && !inFile.has(e.replyTo))
    custom.push({ name: 'custos_reply_to', value: e.replyTo });
  if (e.deleted !== undefined) {
    add(e.deleted.participant);
    custom.push({ name: 'custos_deleted_by', value: e.deleted.participant });
    custom.push({ name: 'custos_deleted_at', value: isoUtc(e.deleted.at) });
  }
  if (e.timerSeconds !== undefined && e.timerSeconds > 0)
    custom.push({ name: 'custos_disappearing_timer_s', value: String(e.timerSeconds) });
  const attachments: { id: string; display: string; size: number }[] = [];
  for (const a of e.attachments) {
    const display = a.ref.fileName ?? a.ref.blobId;
    if (a.bytes === undefined) {
      custom.push({ name: 'custos_attachment_not_exported', value: `${display} (${a.ref.size} bytes)` });
      continue;
    }
    files.push({ name: a.fileName, bytes: a.bytes });
    attachments.push({ id: a.fileName, display, size: a.bytes.length });
  }
  for (const x of e.edits) add(x.participant);
  for (const r of e.receipts) add(r.participant);
  for (const ps of e.reactions.values()) for (const p of ps) add(p);
  return {
    id: e.id,
    type: e.type,
    conversation: e.conversation,
    timestamp: isoUtc(e.at),
    ...(e.participant === undefined ? {} : { participant: e.participant }),
    body: e.body,
    ...(e.replyTo !== undefined && inFile.has(e.replyTo) ? { parent: e.replyTo } : {}),
    ...(e.direction === undefined ? {} : { direction: e.direction }),
    ...(e.type === 'message' ? { deleted: e.deleted !== undefined } : {}),
    ...(attachments.length === 0 ? {} : { attachments }),
    ...(e.edits.length === 0
      ? {}
      : {
          edits: e.edits.map((x) => ({
            participant: x.participant,
            timestamp: isoUtc(x.at),
            previous: x.previous,
            new: x.next,
          })),
        }),
    ...(e.reactions.size === 0
      ? {}
      : {
          reactions: [...e.reactions].map(([value, ps]) => ({
            value,
            count: ps.size,
            participants: [...ps].sort(),
          })),
        }),
    ...(e.receipts.length === 0
      ? {}
      : {
          read_receipts: e.receipts.map((r) => ({
            participant: r.participant,
            timestamp: isoUtc(r.at),
            action: r.action,
          })),
        }),
    ...(custom.length === 0 ? {} : { custom }),
  };
}

/** Builds the manifest of `slice` and collects the attachment files its zip must hold. */
export function buildRsmfManifest(
  ctx: RenderContext,
  slice: ConversationSlice,
): { manifest: RsmfManifest; files: RsmfAttachmentFile[] } {
  const c = slice.conversation;
  const inFile = new Set(slice.events.map((e) => e.id));
  const people = new Set<string>(c.participants);
  const files: RsmfAttachmentFile[] = [];
  const events = slice.events.map((e) => mapEvent(e, inFile, files, people));
  const custodianHere = c.participants.includes(ctx.custodian);
  return {
    manifest: {
      version: RSMF_VERSION,
      participants: [...people]
        .sort()
        .map((id) => ({ id, display: displayOf(ctx.names, id), account_id: id })),
      conversations: [
        {
          id: c.id,
          display: conversationTitle(ctx, c),
          platform: RSMF_PLATFORM,
          type: c.type,
          participants: [...c.participants],
          ...(custodianHere ? { custodian: ctx.custodian } : {}),
          custom: [{ name: 'custos_day_utc', value: slice.day }],
        },
      ],
      events,
      eventcollectionid: collectionId(ctx, c.id),
    },
    files,
  };
}

/** The EventCollectionID that keeps the files of one conversation together. */
export const collectionId = (ctx: RenderContext, conversation: string): string =>
  `${ctx.exportId}:${conversation}`;
