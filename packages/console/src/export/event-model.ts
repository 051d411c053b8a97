/**
 * Folds archive records into conversations of reviewable events, the model every export
 * format renders (docs/exports.md §2): messages carry their edits, deletion, reactions and
 * receipts; group changes become join / leave / history events; the archive notice
 * becomes one disclaimer per conversation slice. A message archived by several devices
 * (sender and recipients) is one event; its other records are listed with it.
 *
 * A record's `direction` says what the ARCHIVING device did (docs/archive-format.md §3): the
 * sender's phone `sent`, the recipients' devices and the sender's other devices (a sync copy)
 * `received`. An event's direction is therefore not taken from any one record, whose place
 * in the log is chance, but from the set (see {@link directionOf}).
 */
import type { AttachmentRef } from '@custos/core';
import { toHex } from './byte-encoding.js';
import { deviceKey } from './device-enrolments.js';
import type { ExportRecord } from './export-types.js';

/** RSMF's event types, which the other formats reuse. */
export type ExportEventType = 'message' | 'disclaimer' | 'join' | 'leave' | 'history' | 'unknown';

/** An attachment of an event, with its bytes when the export has them. */
export interface ExportAttachment {
  readonly ref: AttachmentRef;
  readonly bytes: Uint8Array | undefined;
  /** The file name inside exports (unique within the export). */
  readonly fileName: string;
}

/** One change folded into a message. */
export interface FoldedChange {
  readonly participant: string;
  readonly at: number;
  readonly recordHash: string;
}

/** One reviewable event. */
export interface ExportEvent {
  /** Unique within the export. */
  readonly id: string;
  readonly type: ExportEventType;
  readonly conversation: string;
  /** Who caused it (user address); absent for the disclaimer. */
  readonly participant?: string;
  readonly at: number;
  /** The current text (after edits); the original for a deleted message. */
  readonly body: string;
  /** Of a message or call, relative to the custodian or the archiving devices' users ({@link directionOf}). */
  direction?: 'incoming' | 'outgoing';
  readonly replyTo?: string;
  readonly attachments: ExportAttachment[];
  readonly edits: (FoldedChange & { readonly previous: string; readonly next: string })[];
  deleted?: FoldedChange;
  /** Emoji → participants who reacted with it (removals applied). */
  readonly reactions: Map<string, Set<string>>;
  readonly receipts: (FoldedChange & { readonly action: 'read' | 'delivered' })[];
  /** Hashes (hex) of the records behind this event, primary first. */
  readonly records: string[];
  readonly archiveNotice: boolean;
  readonly timerSeconds?: number;
}

/** A conversation with its events in time order. */
export interface ExportConversation {
  readonly id: string;
  readonly type: 'direct' | 'channel';
  /** The group name, when one was recorded. */
  name?: string;
  /** Every participant seen in the conversation, sorted. */
  readonly participants: string[];
  readonly events: ExportEvent[];
}

/** Whose point of view an export's message directions take. */
export interface DirectionView {
  /** The export's custodian: a user address, or a name no user has (the organisation). */
  readonly custodian: string;
  /** The user (address) of the device that archived `r`, as its enrolment in the log proves; undefined when unknown. */
  readonly deviceUser: (r: ExportRecord) => string | undefined;
}

/**
 * The view of an export for `custodian`, the devices' users taken from the proven enrolment
 * evidence (device-enrolments.ts `enrolledUsers`, by `deviceKey`). Exports and
 * `custos verify` both build it from what the export carries, so both render alike.
 */
export function directionView(custodian: string, users: ReadonlyMap<string, string>): DirectionView {
  return { custodian, deviceUser: (r) => users.get(deviceKey(r.header.org, r.header.device)) };
}

/**
 * The direction of message (or call) event `e` in `conversation`, given every record behind
 * it (`copies`, any order; the answer does not depend on it):
 * - the custodian took part in the conversation: `outgoing` iff the custodian sent it (RSMF's
 *   direction is relative to the conversation's custodian, the one `custodian` names);
 * - otherwise (the organisation, or a custodian outside this conversation): `outgoing` iff
 *   one of its records was archived by a device of its sender — the sender's phone that sent
 *   it, or the sender's other device that archived a sync copy (its record says `received`,
 *   what that device did). A device whose user the export does not prove counts as the
 *   sender's when its record says `sent`.
 */
export function directionOf(
  e: ExportEvent,
  conversation: ExportConversation,
  copies: readonly ExportRecord[],
  view: DirectionView,
): 'incoming' | 'outgoing' {
  const sender = e.participant;
  if (conversation.participants.includes(view.custodian))
    return sender === view.custodian ? 'outgoing' : 'incoming';
  const bySender = (r: ExportRecord): boolean =>
    (view.deviceUser(r) ?? (r.body.direction === 'sent' ? r.body.sender : undefined)) === sender;
  return copies.some(bySender) ? 'outgoing' : 'incoming';
}

const RECEIPT_ACTIONS = new Set(['read', 'delivered']);

// Control characters, line/paragraph separators and bidi controls in an officer-supplied name.
// eslint-disable-next-line no-control-regex
const NAME_UNSAFE = /[\u0000-\u001f\u007f-\u009f\u2028\u2029\u202a-\u202e\u2066-\u2069]/gu;

/**
 * Display name of a user address: the officer-supplied name (untrusted text) with every
 * control, line-separator and bidi character shown as U+FFFD, so no name can start a line of
 * its own in a transcript or header or reorder the text around it; the address when unnamed.
 */
export const displayOf = (names: ReadonlyMap<string, string> | undefined, who: string): string =>
  names?.get(who)?.replace(NAME_UNSAFE, '\ufffd') ?? who;

function safeName(s: string): string {
  const cleaned = s.replace(/[^A-Za-z0-9._-]+/g, '_').replace(/^[._]+/, '');
  return cleaned.length === 0 ? 'file' : cleaned.slice(0, 80);
}

/**
 * Builds the conversations of `records` (any order), message directions from `view`'s point
 * of view; deterministic for a given set of records.
 */
export function buildConversations(
  records: readonly ExportRecord[],
  view: DirectionView,
): ExportConversation[] {
  const sorted = [...records].sort(
    (a, b) => a.body.sentAt - b.body.sentAt || a.log.index - b.log.index || Buffer.compare(a.hash, b.hash),
  );
  const convs = new Map<string, ExportConversation>();
  const messages = new Map<string, ExportEvent>(); // by conversation + message id
  const parts = new Map<string, Set<string>>();
  const names = new Map<string, string>();
  let attachmentNo = 0;
  // Modifier records (edit, delete, …) by message id → the event they were folded into.
  const absorbedBy = new Map<string, ExportEvent>();
  // Every record of each message or call event, for its direction once all are folded.
  const copies = new Map<ExportEvent, ExportRecord[]>();
  const convOf = (r: ExportRecord): ExportConversation => {
    const id = r.body.conversationId;
    let c = convs.get(id);
    if (c === undefined) {
      c = { id, type: 'direct', participants: [], events: [] };
      convs.set(id, c);
      parts.set(id, new Set());
    }
    const p = parts.get(id)!;
    for (const x of r.body.participants) p.add(x);
    p.add(r.body.sender);
    if (r.body.kind === 'group-change' || r.body.participants.length > 2 || id.startsWith('g.'))
      (c as { type: string }).type = 'channel';
    return c;
  };
  const base = (r: ExportRecord, type: ExportEventType, id: string, body: string): ExportEvent => ({
    id,
    type,
    conversation: r.body.conversationId,
    participant: r.body.sender,
    at: r.body.sentAt,
    body,
    attachments: [],
    edits: [],
    reactions: new Map(),
    receipts: [],
    records: [toHex(r.hash)],
    archiveNotice: r.body.archiveNotice,
    ...(r.body.timerSeconds === undefined ? {} : { timerSeconds: r.body.timerSeconds }),
  });
  /**
   * An edit or delete of another participant's message. Devices apply changes from the
   * message's own sender only (client message-store applyEvent), so one from anybody else
   * changed nothing anyone saw; folded in, it put words in the sender's mouth in the
   * production. It stays in the export, as what it is.
   */
  const notTheSenders = (
    r: ExportRecord,
    what: 'edit' | 'delete',
    target: string,
    rest: string,
  ): ExportEvent =>
    base(
      r,
      'history',
      r.body.messageId,
      `tried to ${what} message ${target} of another participant (not applied: only its sender may ${what} it)${rest}`,
    );
  for (const r of sorted) {
    const b = r.body;
    const c = convOf(r);
    const key = (mid: string): string => `${b.conversationId}\n${mid}`;
    const push = (e: ExportEvent): void => void c.events.push(e);
    const target = (mid: string | undefined): ExportEvent | undefined =>
      mid === undefined ? undefined : messages.get(key(mid));
    const change = { participant: b.sender, at: b.sentAt, recordHash: toHex(r.hash) };
    const existing = messages.get(key(b.messageId));
    const prior = existing ?? absorbedBy.get(key(b.messageId));
    if (prior !== undefined) {
      prior.records.push(toHex(r.hash)); // the same event, archived by another device
      if (prior === existing) copies.get(prior)?.push(r);
      continue;
    }
    let into: ExportEvent | undefined;
    const pushHere = (e: ExportEvent): void => {
      into ??= e;
      push(e);
    };
    switch (b.kind) {
      case 'message':
      case 'call': {
        const e = {
          ...base(
            r,
            b.kind === 'message' ? 'message' : 'unknown',
            b.messageId,
            b.kind === 'call' ? `Call${b.text ? `: ${b.text}` : ''}` : (b.text ?? ''),
          ),
          ...(b.replyTo === undefined ? {} : { replyTo: b.replyTo }),
        };
        for (const a of b.attachments)
          e.attachments.push({
            ref: a,
            bytes: r.attachments?.get(a.blobId),
            fileName: `att${++attachmentNo}-${safeName(a.fileName ?? a.blobId)}`,
          });
        messages.set(key(b.messageId), e);
        copies.set(e, [r]);
        push(e);
        break;
      }
      case 'edit': {
        const t = target(b.edits);
        if (t === undefined) {
          pushHere(
            base(
              r,
              'history',
              b.messageId,
              `edited message ${b.edits ?? '?'} (not in this export) to: ${b.text ?? ''}`,
            ),
          );
          break;
        }
        if (t.participant !== b.sender) {
          pushHere(notTheSenders(r, 'edit', t.id, `: ${b.text ?? ''}`));
          break;
        }
        t.edits.push({ ...change, previous: t.body, next: b.text ?? '' });
        (t as { body: string }).body = b.text ?? '';
        t.records.push(change.recordHash);
        into ??= t;
        break;
      }
      case 'delete': {
        const t = target(b.deletes);
        if (t === undefined) {
          pushHere(
            base(r, 'history', b.messageId, `deleted message ${b.deletes ?? '?'} (not in this export)`),
          );
          break;
        }
        if (t.participant !== b.sender) {
          pushHere(notTheSenders(r, 'delete', t.id, ''));
          break;
        }
        t.deleted = change;
        t.records.push(change.recordHash);
        into ??= t;
        break;
      }
      case 'reaction': {
        const t = target(b.reactsTo);
        if (t === undefined) {
          pushHere(
            base(
              r,
              'history',
              b.messageId,
              `reacted ${b.reaction ?? ''} to message ${b.reactsTo ?? '?'} (not in this export)`,
            ),
          );
          break;
        }
        // One reaction per participant per message: a new one replaces, an empty one removes.
        for (const set of t.reactions.values()) set.delete(b.sender);
        if (b.reaction !== undefined && b.reaction.length > 0) {
          const set = t.reactions.get(b.reaction) ?? new Set<string>();
          set.add(b.sender);
          t.reactions.set(b.reaction, set);
        }
        for (const [k, set] of t.reactions) if (set.size === 0) t.reactions.delete(k);
        t.records.push(change.recordHash);
        into ??= t;
        break;
      }
      case 'receipt': {
        // Receipt text is "<type>\n<message id>\n…" (packages/client/src/messaging/events.ts).
        const [action = '', ...ids] = (b.text ?? '').split('\n');
        let found = 0;
        for (const id of ids) {
          const t = target(id);
          if (t === undefined || !RECEIPT_ACTIONS.has(action)) continue;
          t.receipts.push({ ...change, action: action as 'read' | 'delivered' });
          t.records.push(change.recordHash);
          into ??= t;
          found++;
        }
        if (found === 0)
          pushHere(
            base(
              r,
              'history',
              b.messageId,
              `${action || 'receipt'} receipt for ${ids.length} message(s) not in this export`,
            ),
          );
        break;
      }
      case 'group-change': {
        const name = b.text;
        const prevName = names.get(b.conversationId);
        const added = b.added ?? [];
        const removed = b.removed ?? [];
        if (name !== undefined && name !== prevName) {
          names.set(b.conversationId, name);
          c.name = name;
          pushHere(
            base(
              r,
              'history',
              `${b.messageId}#name`,
              prevName === undefined
                ? `named the group “${name}”`
                : `renamed the group from “${prevName}” to “${name}”`,
            ),
          );
        }
        for (const who of added)
          pushHere({
            ...base(
              r,
              'join',
              `${b.messageId}#join:${who}`,
              who === b.sender ? 'joined' : `added by ${b.sender}`,
            ),
            participant: who,
          });
        for (const who of removed)
          pushHere({
            ...base(
              r,
              'leave',
              `${b.messageId}#leave:${who}`,
              who === b.sender ? 'left' : `removed by ${b.sender}`,
            ),
            participant: who,
          });
        break;
      }
      case 'timer-change':
        pushHere(
          base(
            r,
            'history',
            b.messageId,
            b.timerSeconds
              ? `set disappearing messages to ${b.timerSeconds} s (the archive keeps every record)`
              : 'turned disappearing messages off',
          ),
        );
        break;
    }
    if (into !== undefined) absorbedBy.set(key(b.messageId), into);
  }
  for (const c of convs.values()) c.participants.push(...[...parts.get(c.id)!].sort());
  for (const [e, rs] of copies) e.direction = directionOf(e, convs.get(e.conversation)!, rs, view);
  return [...convs.values()].sort((a, b) => (a.id < b.id ? -1 : a.id > b.id ? 1 : 0));
}

/** UTC calendar day (YYYY-MM-DD) of a time in ms. */
export const utcDay = (ms: number): string => new Date(ms).toISOString().slice(0, 10);
