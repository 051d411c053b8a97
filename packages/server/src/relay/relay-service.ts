/**
 * The relay: stores each message's envelopes in the recipient devices' queues (with their
 * relay receipts, in one transaction), wakes the sockets that deliver them, and deletes
 * envelopes when their device acknowledges them. The store is the only source of truth:
 * an envelope is pushed only once committed, acknowledged to the sender only once that
 * commit is durable, and it leaves a queue only by acknowledgement or expiry.
 */
import { randomBytes } from 'node:crypto';
import { ID_BYTES } from '../config/defaults.js';
import { RELAY_SEND_KEY_PRUNE_CHUNK } from '../config/messaging-defaults.js';
import { ServerError } from '../errors.js';
import { decodeBytes } from '../http/schema-helpers.js';
import type { DeviceId, OrgId, UserId } from '../ids.js';
import type {
  DeviceState,
  EnvelopeId,
  EnvelopeSender,
  NewEnvelope,
  QueuedEnvelope,
  SendKeyRecord,
} from '../store/messaging-records.js';
import type { Stores } from '../store/stores.js';
import { addressesExactly, checkAddressing } from './addressing.js';
import { DirectoryCache, type OrgDirectory } from './directory-cache.js';
import { GroupCommitter, RetryBatch, type CommitContext } from './group-commit.js';
import { relayReceipt, type ArchivePolicy, type ReceiptSequencer } from './receipts.js';
import type { RelayHub } from './relay-hub.js';
import { rememberedAnswer, sendKeyOf, type SendKey } from './send-keys.js';
import { SEND_KEY_BYTES, type DeliveredEnvelope, type OutgoingMessage, type SendResult } from './wire.js';

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
  /** How long a keyed send is remembered (RELAY_SEND_KEY_RETENTION_MS). */
  readonly sendKeyRetentionMs: number;
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
 * Where a batch's flush writes (the keys of its collected lists): an org's log (receipts),
 * an org's queues (envelopes), or the one delete of envelopes pushed on this node.
 * One key object per org, kept, so collecting builds no key per envelope.
 */
type FlushKey =
  | { readonly kind: 'receipts'; readonly orgId: OrgId }
  | { readonly kind: 'envelopes'; readonly orgId: OrgId }
  | { readonly kind: 'send-keys'; readonly orgId: OrgId }
  | { readonly kind: 'pushed-acks' };

/** What is collected under a FlushKey: a receipt's entry, an envelope, or one acknowledgement's ids. */
type BatchItem = Uint8Array | NewEnvelope | SendKeyRecord | readonly EnvelopeId[];

/** The flush key of acknowledgements of pushed envelopes (one delete per batch). */
const PUSHED_ACKS: FlushKey = { kind: 'pushed-acks' };

/** A device's queue usage as this batch sees it: the store's count plus what earlier jobs of the batch added. */
interface BatchUsage {
  count: number;
  bytes: number;
}

/**
 * What a batch's send jobs check, per org, read once for the batch (prepareBatch): each
 * sender's revocation state (a key present with `undefined`: no such device), each
 * recipient user's devices and each addressed queue's usage. A job that finds something
 * missing reads it and adds it here, so the batch's later jobs see it.
 */
interface SendView {
  readonly senders: Map<OrgId, Map<DeviceId, DeviceState | undefined>>;
  readonly users: Map<OrgId, Map<UserId, readonly DeviceState[]>>;
  readonly usages: Map<OrgId, Map<DeviceId, BatchUsage>>;
  /**
   * Keyed sends by sender org and {@link sendRef}: the remembered one (its answer unchecked
   * until a repeat needs it), or null when there is none.
   */
  readonly sends: Map<OrgId, Map<string, SendKeyRecord | null>>;
  /**
   * A time no later than any read behind this view: a recipient device a job addresses was
   * current (not revoked) in the store at this time or later. Its socket counts that as a
   * revocation re-check (ws-connection.ts), so a delivery needs no device read of its own.
   */
  readonly readAt: number;
}

function newSendView(readAt: number): SendView {
  return { senders: new Map(), users: new Map(), usages: new Map(), sends: new Map(), readAt };
}

/** A keyed send's place in the view: its sending device and key. */
function sendRef(deviceId: DeviceId, key: string): string {
  return `${deviceId} ${key}`;
}

/** The map of `org` in a per-org map of maps, created when absent. */
function ofOrg<K, V>(maps: Map<OrgId, Map<K, V>>, org: OrgId): Map<K, V> {
  let m = maps.get(org);
  if (m === undefined) {
    m = new Map();
    maps.set(org, m);
  }
  return m;
}

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
 * Reads, per org and with a few IN-list queries, the batch's SendView. Sender states and
 * recipients' device lists come from `directory` where it holds them at the org's current
 * directory version (one single-row read per org, in this transaction); only the rest is read.
 */
async function prepareBatch(
  tx: Stores,
  jobs: readonly SendJob[],
  directory: DirectoryCache,
  now: number,
): Promise<SendView> {
  const senders = new Map<OrgId, Set<DeviceId>>();
  const users = new Map<OrgId, Set<UserId>>();
  const queues = new Map<OrgId, Set<DeviceId>>();
  const keyed = new Map<OrgId, { deviceId: DeviceId; key: string }[]>();
  for (const j of jobs) {
    if (j.sendKey !== undefined) {
      const refs = keyed.get(j.sender.orgId) ?? [];
      refs.push({ deviceId: j.sender.deviceId, key: j.sendKey.key });
      keyed.set(j.sender.orgId, refs);
    }
    addTo(senders, j.sender.orgId, j.sender.deviceId);
    addTo(users, j.recipientOrg, j.recipientUser);
    for (const d of j.envelopes) addTo(queues, j.recipientOrg, d.deviceId as DeviceId);
  }
  const view = newSendView(now);
  // Every org's version is read before any of its entries is used: what is served below is
  // what this transaction would read now.
  const dirs = new Map<OrgId, OrgDirectory>();
  for (const org of senders.keys()) dirs.set(org, await directory.validate(tx, org));
  for (const org of users.keys()) if (!dirs.has(org)) dirs.set(org, await directory.validate(tx, org));
  for (const [org, ids] of senders) {
    const dir = dirs.get(org)!;
    const known = ofOrg(view.senders, org);
    const missing: DeviceId[] = [];
    for (const id of ids) {
      if (dir.senders.has(id)) known.set(id, dir.senders.get(id));
      else missing.push(id);
    }
    if (missing.length === 0) continue;
    const states = await tx.relayQueue.deviceStates(org, missing);
    for (const id of missing) {
      const state = states.get(id);
      known.set(id, state);
      directory.rememberSender(dir, id, state);
    }
  }
  for (const [org, ids] of users) {
    const dir = dirs.get(org)!;
    const known = ofOrg(view.users, org);
    const missing: UserId[] = [];
    for (const id of ids) {
      const cached = dir.users.get(id);
      if (cached !== undefined) known.set(id, cached);
      else missing.push(id);
    }
    if (missing.length === 0) continue;
    const devices = await tx.relayQueue.usersDevices(org, missing);
    for (const id of missing) {
      const list = devices.get(id) ?? [];
      known.set(id, list);
      directory.rememberUser(dir, id, list);
    }
  }
  for (const [org, ids] of queues) {
    const usages = await tx.relayQueue.usages(org, [...ids]);
    const known = ofOrg(view.usages, org);
    for (const [id, u] of usages) known.set(id, { count: u.count, bytes: u.bytes });
  }
  for (const [org, refs] of keyed) await readSends(tx, view, org, refs);
  return view;
}

/** Reads the remembered sends of `refs` (sender org `org`) into the view: null where there is none. */
async function readSends(
  tx: Stores,
  view: SendView,
  org: OrgId,
  refs: readonly { deviceId: DeviceId; key: string }[],
): Promise<void> {
  const known = ofOrg(view.sends, org);
  for (const r of refs) known.set(sendRef(r.deviceId, r.key), null);
  for (const r of await tx.relayQueue.sendKeys(org, refs)) known.set(sendRef(r.deviceId, r.key), r);
}

/**
 * One message being sent, as its job sees it; also what the job declares to its batch's
 * prepare (prepareBatch reads for every job of the batch at once).
 */
interface SendJob {
  readonly sender: EnvelopeSender;
  readonly recipientOrg: OrgId;
  readonly recipientUser: UserId;
  /** Device ids checked for repeats, total size for the limit (sendDecoded). */
  readonly envelopes: readonly OutgoingEnvelope[];
  /** The recipient is the sender's own user: the sending device must not be addressed. */
  readonly toSelf: boolean;
  /** The send's idempotency key, when the sender gave one. */
  readonly sendKey: SendKey | undefined;
}

/** True when everything `job` checks is in the view already (its user has devices: a user without any needs a read). */
function inView(view: SendView, job: SendJob): boolean {
  if (!(view.senders.get(job.sender.orgId)?.has(job.sender.deviceId) ?? false)) return false;
  if (
    job.sendKey !== undefined &&
    !(view.sends.get(job.sender.orgId)?.has(sendRef(job.sender.deviceId, job.sendKey.key)) ?? false)
  )
    return false;
  const devices = view.users.get(job.recipientOrg)?.get(job.recipientUser);
  if (devices === undefined || devices.length === 0) return false;
  const usages = view.usages.get(job.recipientOrg);
  if (usages === undefined) return false;
  for (const d of job.envelopes) if (!usages.has(d.deviceId as DeviceId)) return false;
  return true;
}

/**
 * Reads what `job` checks and the view lacks (a batch without a prepare, or a value the
 * prepare did not read), in the order the checks fail: a revoked sender before an unknown
 * recipient user (USER_NOT_FOUND), before anything about the addressing.
 */
async function readIntoView(tx: Stores, view: SendView, job: SendJob): Promise<void> {
  const { sender, recipientOrg, recipientUser } = job;
  const senders = ofOrg(view.senders, sender.orgId);
  if (!senders.has(sender.deviceId))
    senders.set(
      sender.deviceId,
      (await tx.relayQueue.deviceStates(sender.orgId, [sender.deviceId])).get(sender.deviceId),
    );
  const me = senders.get(sender.deviceId);
  if (me === undefined || me.revokedAt !== null) return;
  const key = job.sendKey?.key;
  if (key !== undefined && !(view.sends.get(sender.orgId)?.has(sendRef(sender.deviceId, key)) ?? false))
    await readSends(tx, view, sender.orgId, [{ deviceId: sender.deviceId, key }]);
  // A repeat is answered from what is remembered: the recipient's devices need no read.
  if (key !== undefined && view.sends.get(sender.orgId)?.get(sendRef(sender.deviceId, key)) != null) return;
  const users = ofOrg(view.users, recipientOrg);
  let devices = users.get(recipientUser);
  if (devices === undefined) {
    devices = await tx.relayQueue.userDevices(recipientOrg, recipientUser);
    users.set(recipientUser, devices);
  }
  if (devices.length === 0 && (await tx.users.get(recipientOrg, recipientUser)) === undefined)
    throw new ServerError('USER_NOT_FOUND', 'no such recipient user in the named organisation');
  const usages = ofOrg(view.usages, recipientOrg);
  for (const e of job.envelopes) {
    const id = e.deviceId as DeviceId;
    if (!usages.has(id)) usages.set(id, { ...(await tx.relayQueue.usage(recipientOrg, id)) });
  }
}

/**
 * The order a batch's writes are flushed in. Send keys go first, org by org and in (device,
 * key) order: on PostgreSQL an insert of a key another node has inserted but not committed
 * waits for that node, and waiting before this batch holds any log-sequence row (receipts)
 * or other key, in one order on every node, cannot close a cycle of waits. The rest keep the
 * order they were collected in.
 */
function flushOrder(
  collected: ReadonlyMap<FlushKey, readonly BatchItem[]>,
): Iterable<[FlushKey, readonly BatchItem[]]> {
  let keyed = false;
  for (const key of collected.keys()) keyed ||= key.kind === 'send-keys';
  // The common batch (binary frames carry no key): the collected order, nothing copied.
  if (!keyed) return collected;
  const keys: [FlushKey, readonly BatchItem[]][] = [];
  const rest: [FlushKey, readonly BatchItem[]][] = [];
  for (const entry of collected) (entry[0].kind === 'send-keys' ? keys : rest).push(entry);
  const order = (a: string, b: string): number => (a < b ? -1 : a > b ? 1 : 0);
  keys.sort(([a], [b]) => order((a as { orgId: OrgId }).orgId, (b as { orgId: OrgId }).orgId));
  for (const entry of keys)
    entry[1] = [...(entry[1] as readonly SendKeyRecord[])].sort(
      (a, b) => order(a.deviceId, b.deviceId) || order(a.key, b.key),
    );
  return [...keys, ...rest];
}

/** The relay service of one API node. */
export class RelayService {
  private readonly committer: GroupCommitter<FlushKey, BatchItem, SendJob, SendView>;
  /** Directory reads of earlier batches, served while their org's directory version holds (prepareBatch). */
  private readonly directory = new DirectoryCache();
  /** Each org's flush keys (receipts, envelopes), made once. */
  private readonly keys = new Map<OrgId, { receipts: FlushKey; envelopes: FlushKey; sendKeys: FlushKey }>();

  constructor(private readonly o: RelayOptions) {
    // A whole batch's envelopes go to the queues in multi-row inserts, and its receipts to
    // each org's log in one append, all in the batch's transaction; what its jobs check is
    // read up front for all of them (prepareBatch).
    const flush = async (
      tx: Stores,
      collected: ReadonlyMap<FlushKey, readonly BatchItem[]>,
    ): Promise<void> => {
      for (const [key, items] of flushOrder(collected)) {
        if (key.kind === 'pushed-acks') {
          const ids: EnvelopeId[] = [];
          for (const i of items as readonly (readonly EnvelopeId[])[]) for (const id of i) ids.push(id);
          await tx.relayQueue.deletePushed(ids);
        } else if (key.kind === 'send-keys') {
          // Another API node admitted one of these keys too (both prepares read it absent) and
          // committed first: this batch runs again, and its fresh prepare answers the repeat
          // from the committed key — the batch's other sends are not failed for it.
          const records = items as readonly SendKeyRecord[];
          if ((await tx.relayQueue.rememberSends(key.orgId, records)) < records.length)
            throw new RetryBatch('an idempotency key of this batch was remembered by another node first');
        } else if (key.kind === 'envelopes') {
          const envelopes = items as readonly NewEnvelope[];
          await tx.relayQueue.enqueue(key.orgId, envelopes);
          await tx.relayQueue.announce(
            key.orgId,
            envelopes.map((e) => e.recipientDeviceId),
          );
        } else {
          await o.receipts(tx, key.orgId, items as readonly Uint8Array[]);
        }
      }
    };
    this.committer = new GroupCommitter<FlushKey, BatchItem, SendJob, SendView>(
      o.stores,
      o.limits.maxBatch,
      flush,
      (tx, jobs) => prepareBatch(tx, jobs, this.directory, o.clock()),
      o.pipelineCommits ?? false,
    );
  }

  /**
   * Stores a message from `sender`; resolves once its envelopes and receipts are committed.
   * Throws MISMATCHED_DEVICES (nothing stored) unless it addresses exactly the recipient's
   * current devices, QUEUE_FULL when a recipient queue is full.
   */
  async send(sender: EnvelopeSender, message: OutgoingMessage): Promise<SendResult> {
    // Decoding needs no store: a bad message never reaches a transaction. Repeated devices
    // and the size limit are sendDecoded's checks.
    const decoded = message.envelopes.map((e, i) => ({
      deviceId: e.deviceId,
      type: e.type,
      // `text` is the content's canonical base64url (decodeBytes checked): JSON delivery reuses it.
      content: decodeBytes(`message.envelopes.${i}.content`, e.content),
      text: e.content,
    }));
    const key = message.idempotencyKey;
    if (key !== undefined) decodeBytes('message.idempotencyKey', key, SEND_KEY_BYTES);
    return this.sendDecoded(sender, message.recipient, decoded, key);
  }

  /**
   * `send` for a message whose contents are bytes already (binary socket frames): the same
   * checks, the same transaction. `text`, when given, is an envelope's content as canonical
   * base64url. `idempotencyKey` (checked canonical by the caller) makes the send repeatable:
   * a repeat from the same device within the retention window gets the first answer and
   * stores nothing; with another recipient or other envelopes it is IDEMPOTENCY_KEY_REUSED.
   */
  sendDecoded(
    sender: EnvelopeSender,
    recipient: { readonly orgId: string; readonly userId: string },
    envelopes: readonly OutgoingEnvelope[],
    idempotencyKey?: string,
  ): Promise<SendResult> {
    let total = 0;
    for (let i = 0; i < envelopes.length; i++) {
      const e = envelopes[i]!;
      // Messages address a handful of devices: a scan finds a repeat without a set.
      for (let j = 0; j < i; j++) {
        if (envelopes[j]!.deviceId === e.deviceId)
          return Promise.reject(
            new ServerError('INVALID_REQUEST', `message.envelopes.${i}.deviceId: device addressed twice`),
          );
      }
      total += e.content.length;
    }
    if (total > this.o.limits.maxMessageBytes) {
      return Promise.reject(
        new ServerError(
          'INVALID_REQUEST',
          `message: ${total} bytes of envelopes, at most ${this.o.limits.maxMessageBytes}`,
        ),
      );
    }
    const recipientOrg = recipient.orgId as OrgId;
    const recipientUser = recipient.userId as UserId;
    const job: SendJob = {
      sender,
      recipientOrg,
      recipientUser,
      envelopes,
      toSelf: recipientOrg === sender.orgId && recipientUser === sender.userId,
      sendKey: idempotencyKey === undefined ? undefined : sendKeyOf(idempotencyKey, recipient, envelopes),
    };
    return this.committer.run((tx, ctx) => {
      const now = this.o.clock();
      const view = ctx.view ?? newSendView(now);
      // A remembered archive policy is a plain boolean, and the batch's reads are in its
      // view: then the job runs without a promise.
      const archivesSender = this.o.archives(sender.orgId, tx);
      const archivesRecipient =
        recipientOrg === sender.orgId ? archivesSender : this.o.archives(recipientOrg, tx);
      if (typeof archivesSender === 'boolean' && typeof archivesRecipient === 'boolean' && inView(view, job))
        return this.admit(ctx, view, job, now, archivesSender, archivesRecipient);
      // Every pending read is awaited together: a policy read that fails while the view's
      // reads run is the batch's error, never an unhandled rejection (which would stop the node).
      return Promise.all([readIntoView(tx, view, job), archivesSender, archivesRecipient]).then(
        ([, archivesS, archivesR]) => this.admit(ctx, view, job, now, archivesS, archivesR),
      );
    }, job);
  }

  /**
   * Checks a send against the batch's view and, when it passes, adds its envelopes and
   * receipts to the batch: in the transaction (once per batch and device), so a device
   * revoked a moment ago cannot send (WebSocket sends too).
   */
  private admit(
    ctx: CommitContext<FlushKey, BatchItem, SendView>,
    view: SendView,
    job: SendJob,
    now: number,
    archivesSender: boolean,
    archivesRecipient: boolean,
  ): SendResult {
    const { sender, recipientOrg, envelopes: decoded } = job;
    const me = view.senders.get(sender.orgId)?.get(sender.deviceId);
    if (me === undefined || me.revokedAt !== null)
      throw new ServerError('DEVICE_REVOKED', 'this device has been revoked');
    const sendKey = job.sendKey;
    const sends = sendKey === undefined ? undefined : ofOrg(view.sends, sender.orgId);
    const ref = sendKey === undefined ? '' : sendRef(sender.deviceId, sendKey.key);
    if (sendKey !== undefined) {
      // A repeat is answered before the addressing and queue checks: the device list may have
      // changed since the first try, whose envelopes are queued (or delivered) already. (A
      // revoked device is refused above, repeat or not.) Two API nodes admitting the same new
      // key at once both try to remember it: the second to commit stores none of it and runs
      // its batch again (flush), whose fresh prepare finds the key and answers from it here.
      const prior = sends!.get(ref);
      if (prior != null) {
        if (!prior.requestHash.equals(sendKey.requestHash))
          throw new ServerError(
            'IDEMPOTENCY_KEY_REUSED',
            'this idempotency key was used for another send (other recipient or envelopes); nothing was stored',
          );
        return rememberedAnswer(prior);
      }
    }
    const devices = view.users.get(recipientOrg)?.get(job.recipientUser) ?? [];
    const self = job.toSelf ? sender.deviceId : null;
    if (!addressesExactly(devices, decoded, self)) {
      const mismatch = checkAddressing(
        devices,
        decoded.map((d) => d.deviceId as DeviceId),
        self,
      );
      throw new ServerError(
        'MISMATCHED_DEVICES',
        `the message misses ${mismatch.missing.length} and wrongly addresses ${mismatch.stale.length} device(s)`,
        { details: { missing: mismatch.missing, stale: mismatch.stale } },
      );
    }
    const usages = ofOrg(view.usages, recipientOrg);
    for (const d of decoded) {
      const usage = usages.get(d.deviceId as DeviceId)!;
      if (
        usage.count + 1 > this.o.limits.maxQueueEnvelopes ||
        usage.bytes + d.content.length > this.o.limits.maxQueueBytes
      ) {
        throw new ServerError('QUEUE_FULL', "a recipient device's queue is full", {
          details: { deviceId: d.deviceId },
        });
      }
    }
    // Nothing below can fail: this job now counts in the batch's view of the queues, and
    // its writes join the batch's flush.
    const keys = this.keysOf(recipientOrg);
    const senderReceipts = archivesSender ? this.keysOf(sender.orgId).receipts : null;
    const recipientReceipts = archivesRecipient && recipientOrg !== sender.orgId ? keys.receipts : null;
    const out: { deviceId: DeviceId; envelopeId: EnvelopeId }[] = [];
    const delivered: DeliveredEnvelope[] = [];
    for (let i = 0; i < decoded.length; i++) {
      const d = decoded[i] as OutgoingEnvelope & { readonly deviceId: DeviceId };
      const usage = usages.get(d.deviceId)!;
      usage.count += 1;
      usage.bytes += d.content.length;
      // Ready for delivery from memory once committed (with the JSON sender's own base64url
      // text, so a JSON socket's frame needs no encoding); the store ignores the extra field.
      const envelope: DeliveredEnvelope = {
        orgId: recipientOrg,
        envelopeId: newEnvelopeId(now),
        recipientDeviceId: d.deviceId,
        sender,
        type: d.type,
        content: d.content,
        createdAt: now,
        expiresAt: now + this.o.limits.queueTtlMs,
        contentText: d.text,
      };
      ctx.collect(keys.envelopes, envelope);
      if (senderReceipts !== null || recipientReceipts !== null) {
        // A keyed send hashed its contents already (sendRequestHash): the receipt reuses the digest.
        const receipt = relayReceipt(sender.deviceId, d.deviceId, d.content, now, sendKey?.contentHashes[i]);
        if (senderReceipts !== null) ctx.collect(senderReceipts, receipt);
        if (recipientReceipts !== null) ctx.collect(recipientReceipts, receipt);
      }
      delivered.push(envelope);
      out.push({ deviceId: d.deviceId, envelopeId: envelope.envelopeId });
    }
    const result = { serverTime: now, envelopes: out };
    if (sendKey !== undefined) {
      // Later jobs of this batch see the send as remembered; the store gets it in the flush.
      const remembered: SendKeyRecord = {
        deviceId: sender.deviceId,
        key: sendKey.key,
        requestHash: sendKey.requestHash,
        answer: JSON.stringify(result),
        createdAt: now,
      };
      sends!.set(ref, remembered);
      ctx.collect(this.keysOf(sender.orgId).sendKeys, remembered);
    }
    ctx.afterCommit(() => {
      // Committed (on SQLite not yet durable: the sender's answer waits for that, the push
      // need not — docs/relay.md): sockets on this node may push them straight from memory.
      // Each recipient device was addressed, so it was current when the view was read.
      for (const e of delivered) this.o.hub.deliver(recipientOrg, e.recipientDeviceId, [e], view.readAt);
    });
    return result;
  }

  /** The org's flush keys, made on first use. */
  private keysOf(orgId: OrgId): { receipts: FlushKey; envelopes: FlushKey; sendKeys: FlushKey } {
    let k = this.keys.get(orgId);
    if (k === undefined) {
      k = {
        receipts: { kind: 'receipts', orgId },
        envelopes: { kind: 'envelopes', orgId },
        sendKeys: { kind: 'send-keys', orgId },
      };
      this.keys.set(orgId, k);
    }
    return k;
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
    return this.committer.fold(PUSHED_ACKS, ids);
  }

  /** The device's oldest undelivered envelopes. */
  pending(orgId: OrgId, deviceId: DeviceId, limit: number): Promise<QueuedEnvelope[]> {
    return this.o.stores.relayQueue.pending(orgId, deviceId, this.o.clock(), limit);
  }

  /** Deletes expired envelopes of every org. */
  sweepExpired(): Promise<number> {
    return this.o.stores.relayQueue.deleteExpired(this.o.clock());
  }

  /**
   * Forgets keyed sends of every org older than the retention window; resolves to how many.
   * `chunk` rows per statement, each its own transaction, the event loop free in between: a
   * SQLite DELETE blocks it while it runs, and a sweep may find a busy day's worth of keys.
   */
  async pruneSendKeys(chunk: number = RELAY_SEND_KEY_PRUNE_CHUNK): Promise<number> {
    // A chunk of 0 would delete nothing and never end.
    if (!Number.isSafeInteger(chunk) || chunk < 1)
      throw new RangeError(`send-key prune chunk must be a positive integer, not ${chunk}`);
    const cutoff = this.o.clock() - this.o.sendKeyRetentionMs;
    let total = 0;
    for (;;) {
      const n = await this.o.stores.relayQueue.deleteSendKeysBefore(cutoff, chunk);
      total += n;
      if (n < chunk) return total;
      await new Promise<void>((resolve) => setImmediate(resolve));
    }
  }

  /** Settles when every accepted write has committed (graceful shutdown). */
  idle(): Promise<void> {
    return this.committer.idle();
  }
}
