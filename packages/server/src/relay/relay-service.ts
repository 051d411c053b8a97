/**
 * The relay: stores each message's envelopes in the recipient devices' queues (with their
 * relay receipts, in one transaction), wakes the sockets that deliver them, and deletes
 * envelopes when their device acknowledges them. The store is the only source of truth:
 * an envelope is acknowledged to the sender only after it is committed, and it leaves a
 * queue only by acknowledgement or expiry.
 */
import { randomBytes } from 'node:crypto';
import { ID_BYTES } from '../config/defaults.js';
import { ServerError } from '../errors.js';
import { decodeBytes } from '../http/schema-helpers.js';
import type { DeviceId, OrgId, UserId } from '../ids.js';
import type { EnvelopeId, EnvelopeSender, NewEnvelope, QueuedEnvelope } from '../store/messaging-records.js';
import type { Stores } from '../store/stores.js';
import { checkAddressing, isExact } from './addressing.js';
import { GroupCommitter } from './group-commit.js';
import { relayReceipt, type ArchivePolicy, type ReceiptSequencer } from './receipts.js';
import type { RelayHub } from './relay-hub.js';
import type { DeliveredEnvelope, OutgoingMessage, SendResult } from './wire.js';

/** One envelope of a message, its content decoded (`text`: the same as canonical base64url, when known). */
export interface OutgoingEnvelope {
  readonly deviceId: string;
  readonly type: number;
  readonly content: Buffer;
  readonly text?: string;
}

/** Limits the relay enforces (named defaults in config/messaging-defaults.ts). */
export interface RelayLimits {
  readonly maxMessageBytes: number;
  readonly maxQueueEnvelopes: number;
  readonly maxQueueBytes: number;
  readonly queueTtlMs: number;
  /** Most jobs (messages, acknowledgements) committed in one transaction. */
  readonly maxBatch: number;
}

/** What the relay needs. */
export interface RelayOptions {
  readonly stores: Stores;
  readonly hub: RelayHub;
  readonly receipts: ReceiptSequencer;
  readonly archives: ArchivePolicy;
  readonly clock: () => number;
  readonly limits: RelayLimits;
  /** Start a batch while the previous one's durability is pending (SQLite only: see GroupCommitter). */
  readonly pipelineCommits?: boolean;
}

/** Envelope ids drawn per refill of the random pool: one CSPRNG call instead of one per envelope. */
const ID_POOL_IDS = 256;
/** Leading bytes of an envelope id holding its creation time (ms, big-endian: 48 bits last until year 10889). */
const ID_TIME_BYTES = 6;
let idPool = Buffer.alloc(0);
let idPoolOffset = 0;

/**
 * A new envelope id: the creation time in ms, then ID_BYTES − 6 = 80 random bits. Ids
 * created later sort later, so the queue's id index grows at its right edge and an
 * acknowledgement (which comes soon after) deletes near it — a batch's commit writes a few
 * index pages, not one per envelope. Ids stay unguessable: the random part alone is 80 bits.
 */
function newEnvelopeId(now: number): EnvelopeId {
  const random = ID_BYTES - ID_TIME_BYTES;
  if (idPoolOffset + ID_BYTES > idPool.length) {
    idPool = randomBytes(ID_BYTES * ID_POOL_IDS);
    idPoolOffset = 0;
  }
  // The pool's slot is overwritten in place: its first bytes become the time, the rest stays random.
  idPool.writeUIntBE(Math.max(0, Math.min(now, 2 ** 48 - 1)), idPoolOffset, ID_TIME_BYTES);
  const id = idPool.toString('base64url', idPoolOffset, idPoolOffset + ID_TIME_BYTES + random);
  idPoolOffset += ID_BYTES;
  return id as EnvelopeId;
}

/**
 * What a batch's flush writes: a send job's receipt for an org's log or envelopes for an
 * org's queues, or the ids of one acknowledgement of envelopes pushed on this node.
 */
type BatchItem =
  | { readonly kind: 'receipt'; readonly orgId: OrgId; readonly entry: Uint8Array }
  | { readonly kind: 'envelope'; readonly orgId: OrgId; readonly envelope: NewEnvelope }
  | { readonly kind: 'pushed-acks'; readonly ids: readonly EnvelopeId[] };

/** The flush key of acknowledgements of pushed envelopes (one delete per batch). */
const PUSHED_ACKS = 'pushed-acks';

/** A device's queue usage as this batch sees it: the store's count plus what earlier jobs of the batch added. */
interface BatchUsage {
  count: number;
  bytes: number;
}

/** What a send job will read, declared up front so its batch reads it for all jobs at once. */
interface SendMeta {
  readonly sender: EnvelopeSender;
  readonly recipientOrg: OrgId;
  readonly recipientUser: UserId;
  readonly recipientDevices: readonly DeviceId[];
}

/** Keys of the values a batch shares (`ctx.shared`), primed by `prepareBatch`. */
const senderKey = (orgId: OrgId, deviceId: DeviceId): string => `device:${orgId}/${deviceId}`;
const userDevicesKey = (orgId: OrgId, userId: UserId): string => `user-devices:${orgId}/${userId}`;
const usageKey = (orgId: OrgId, deviceId: DeviceId): string => `usage:${orgId}/${deviceId}`;

/** Adds `value` to the set under `key`. */
function addTo<K, V>(map: Map<K, Set<V>>, key: K, value: V): void {
  let set = map.get(key);
  if (set === undefined) {
    set = new Set();
    map.set(key, set);
  }
  set.add(value);
}

/**
 * Reads, per org and with a few IN-list queries, what the batch's send jobs check: each
 * sender's revocation state, each recipient user's devices and each addressed queue's usage.
 */
async function prepareBatch(
  tx: Stores,
  metas: readonly SendMeta[],
  prime: (key: string, value: unknown) => void,
): Promise<void> {
  const senders = new Map<OrgId, Set<DeviceId>>();
  const users = new Map<OrgId, Set<UserId>>();
  const queues = new Map<OrgId, Set<DeviceId>>();
  for (const m of metas) {
    addTo(senders, m.sender.orgId, m.sender.deviceId);
    addTo(users, m.recipientOrg, m.recipientUser);
    for (const d of m.recipientDevices) addTo(queues, m.recipientOrg, d);
  }
  for (const [org, ids] of senders) {
    const states = await tx.relayQueue.deviceStates(org, [...ids]);
    for (const id of ids) prime(senderKey(org, id), states.get(id));
  }
  for (const [org, ids] of users) {
    const devices = await tx.relayQueue.usersDevices(org, [...ids]);
    for (const id of ids) prime(userDevicesKey(org, id), devices.get(id) ?? []);
  }
  for (const [org, ids] of queues) {
    const usages = await tx.relayQueue.usages(org, [...ids]);
    for (const [id, u] of usages) prime(usageKey(org, id), { count: u.count, bytes: u.bytes });
  }
}

/** The relay service of one API node. */
export class RelayService {
  private readonly committer: GroupCommitter<BatchItem, SendMeta>;

  constructor(private readonly o: RelayOptions) {
    // A whole batch's envelopes go to the queues in multi-row inserts, and its receipts to
    // each org's log in one append, all in the batch's transaction; what its jobs check is
    // read up front for all of them (prepareBatch).
    const flush = async (tx: Stores, collected: ReadonlyMap<string, readonly BatchItem[]>): Promise<void> => {
      for (const items of collected.values()) {
        const first = items[0];
        if (first === undefined) continue;
        if (first.kind === 'pushed-acks') {
          const ids: EnvelopeId[] = [];
          for (const i of items)
            for (const id of (i as Extract<BatchItem, { kind: 'pushed-acks' }>).ids) ids.push(id);
          await tx.relayQueue.deletePushed(ids);
        } else if (first.kind === 'envelope') {
          const envelopes = items.map((i) => (i as Extract<BatchItem, { kind: 'envelope' }>).envelope);
          await tx.relayQueue.enqueue(first.orgId, envelopes);
          await tx.relayQueue.announce(
            first.orgId,
            envelopes.map((e) => e.recipientDeviceId),
          );
        } else {
          const entries = items.map((i) => (i as Extract<BatchItem, { kind: 'receipt' }>).entry);
          await o.receipts(tx, first.orgId, entries);
        }
      }
    };
    this.committer = new GroupCommitter<BatchItem, SendMeta>(
      o.stores,
      o.limits.maxBatch,
      flush,
      prepareBatch,
      o.pipelineCommits ?? false,
    );
  }

  /**
   * Stores a message from `sender`; resolves once its envelopes and receipts are committed.
   * Throws MISMATCHED_DEVICES (nothing stored) unless it addresses exactly the recipient's
   * current devices, QUEUE_FULL when a recipient queue is full.
   */
  async send(sender: EnvelopeSender, message: OutgoingMessage): Promise<SendResult> {
    // Decoding needs no store: a bad message never reaches a transaction.
    const seen = new Set<string>();
    const decoded = message.envelopes.map((e, i) => {
      if (seen.has(e.deviceId))
        throw new ServerError('INVALID_REQUEST', `message.envelopes.${i}.deviceId: device addressed twice`);
      seen.add(e.deviceId);
      // `text` is the content's canonical base64url (decodeBytes checked): JSON delivery reuses it.
      const content = decodeBytes(`message.envelopes.${i}.content`, e.content);
      return { deviceId: e.deviceId, type: e.type, content, text: e.content };
    });
    return this.sendDecoded(sender, message.recipient, decoded);
  }

  /**
   * `send` for a message whose contents are bytes already (binary socket frames): the same
   * checks, the same transaction. `text`, when given, is an envelope's content as canonical
   * base64url.
   */
  async sendDecoded(
    sender: EnvelopeSender,
    recipient: { readonly orgId: string; readonly userId: string },
    envelopes: readonly OutgoingEnvelope[],
  ): Promise<SendResult> {
    const seen = new Set<string>();
    let total = 0;
    const decoded = envelopes.map((e, i) => {
      if (seen.has(e.deviceId))
        throw new ServerError('INVALID_REQUEST', `message.envelopes.${i}.deviceId: device addressed twice`);
      seen.add(e.deviceId);
      total += e.content.length;
      return { deviceId: e.deviceId as DeviceId, type: e.type, content: e.content, text: e.text };
    });
    if (total > this.o.limits.maxMessageBytes) {
      throw new ServerError(
        'INVALID_REQUEST',
        `message: ${total} bytes of envelopes, at most ${this.o.limits.maxMessageBytes}`,
      );
    }
    const recipientOrg = recipient.orgId as OrgId;
    const recipientUser = recipient.userId as UserId;
    const toSelf = recipientOrg === sender.orgId && recipientUser === sender.userId;
    const meta: SendMeta = {
      sender,
      recipientOrg,
      recipientUser,
      recipientDevices: decoded.map((d) => d.deviceId),
    };

    return this.committer.run(async (tx, ctx) => {
      const now = this.o.clock();
      // Checked in the transaction (once per batch and device), so a device revoked a moment
      // ago cannot send (WebSocket sends too).
      const me = await ctx.shared(senderKey(sender.orgId, sender.deviceId), async () =>
        (await tx.relayQueue.deviceStates(sender.orgId, [sender.deviceId])).get(sender.deviceId),
      );
      if (me === undefined || me.revokedAt !== null)
        throw new ServerError('DEVICE_REVOKED', 'this device has been revoked');
      const devices = await ctx.shared(userDevicesKey(recipientOrg, recipientUser), () =>
        tx.relayQueue.userDevices(recipientOrg, recipientUser),
      );
      if (devices.length === 0 && (await tx.users.get(recipientOrg, recipientUser)) === undefined)
        throw new ServerError('USER_NOT_FOUND', 'no such recipient user in the named organisation');
      const mismatch = checkAddressing(
        devices,
        decoded.map((d) => d.deviceId),
        toSelf ? sender.deviceId : null,
      );
      if (!isExact(mismatch)) {
        throw new ServerError(
          'MISMATCHED_DEVICES',
          `the message misses ${mismatch.missing.length} and wrongly addresses ${mismatch.stale.length} device(s)`,
          { details: { missing: mismatch.missing, stale: mismatch.stale } },
        );
      }
      const usages: BatchUsage[] = [];
      for (const d of decoded) {
        const usage = await ctx.shared<BatchUsage>(usageKey(recipientOrg, d.deviceId), async () => ({
          ...(await tx.relayQueue.usage(recipientOrg, d.deviceId)),
        }));
        usages.push(usage);
        if (
          usage.count + 1 > this.o.limits.maxQueueEnvelopes ||
          usage.bytes + d.content.length > this.o.limits.maxQueueBytes
        ) {
          throw new ServerError('QUEUE_FULL', "a recipient device's queue is full", {
            details: { deviceId: d.deviceId },
          });
        }
      }
      // Ready for delivery from memory once committed (with the JSON sender's own base64url
      // text, so a JSON socket's frame needs no encoding); the store ignores the extra field.
      const envelopes: DeliveredEnvelope[] = decoded.map((d) => ({
        orgId: recipientOrg,
        envelopeId: newEnvelopeId(now),
        recipientDeviceId: d.deviceId,
        sender,
        type: d.type,
        content: d.content,
        createdAt: now,
        expiresAt: now + this.o.limits.queueTtlMs,
        ...(d.text === undefined ? {} : { contentText: d.text }),
      }));
      const receiptOrgs: OrgId[] = [];
      for (const org of sender.orgId === recipientOrg ? [sender.orgId] : [sender.orgId, recipientOrg]) {
        // A remembered policy is a plain boolean: no await on the hot path.
        const a = this.o.archives(org, tx);
        if (typeof a === 'boolean' ? a : await a) receiptOrgs.push(org);
      }
      const receipts =
        receiptOrgs.length === 0
          ? []
          : envelopes.map((e) => relayReceipt(sender.deviceId, e.recipientDeviceId, e.content, now));
      // Nothing below can fail: this job now counts in the batch's view of the queues, and
      // its writes join the batch's flush.
      decoded.forEach((d, i) => {
        usages[i]!.count += 1;
        usages[i]!.bytes += d.content.length;
      });
      for (const org of receiptOrgs) {
        ctx.collect(
          `receipt:${org}`,
          receipts.map((entry) => ({ kind: 'receipt', orgId: org, entry })),
        );
      }
      ctx.collect(
        `envelope:${recipientOrg}`,
        envelopes.map((envelope) => ({ kind: 'envelope', orgId: recipientOrg, envelope })),
      );
      ctx.afterCommit(() => {
        // Committed: sockets on this node may push them straight from memory.
        for (const e of envelopes) this.o.hub.deliver(recipientOrg, e.recipientDeviceId, [e]);
      });
      return {
        serverTime: now,
        envelopes: envelopes.map((e) => ({ deviceId: e.recipientDeviceId, envelopeId: e.envelopeId })),
      };
    }, meta);
  }

  /** Deletes acknowledged envelopes of the device; resolves (with how many) once committed. */
  ack(orgId: OrgId, deviceId: DeviceId, ids: readonly EnvelopeId[]): Promise<number> {
    return this.committer.run((tx) => tx.relayQueue.ack(orgId, deviceId, ids));
  }

  /**
   * Deletes envelopes that this node pushed to a socket of the acknowledging device (the
   * caller's proof that they are that device's): no job of their own, they join the next
   * batch's single delete. Resolves once committed.
   */
  ackPushed(ids: readonly EnvelopeId[]): Promise<void> {
    return this.committer.fold(PUSHED_ACKS, [{ kind: 'pushed-acks', ids }]);
  }

  /** The device's oldest undelivered envelopes. */
  pending(orgId: OrgId, deviceId: DeviceId, limit: number): Promise<QueuedEnvelope[]> {
    return this.o.stores.relayQueue.pending(orgId, deviceId, this.o.clock(), limit);
  }

  /** Deletes expired envelopes of every org. */
  sweepExpired(): Promise<number> {
    return this.o.stores.relayQueue.deleteExpired(this.o.clock());
  }

  /** Settles when every accepted write has committed (graceful shutdown). */
  idle(): Promise<void> {
    return this.committer.idle();
  }
}
