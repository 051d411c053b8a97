/**
 * The receiving side of a client: envelopes fetched over HTTP (`sync`) or pushed on the
 * relay socket (`connect`) are handled one at a time in the operation queue and
 * acknowledged only after they are stored; delivery receipts owed for them are sent after;
 * one-time prekeys, which peers' first messages use up, are topped up when the server says
 * they run low.
 */
import { DEFAULT_KYBER_PREKEYS, DEFAULT_ONE_TIME_PREKEYS, generatePrekeys } from '../enrol/prekeys.js';
import { isClientError } from '../errors.js';
import type { MessageEvent, Messenger } from '../messaging/messenger.js';
import { ReceiptQueue } from '../messaging/receipts.js';
import type { LocalStore } from '../store/local-store.js';
import { loadLocalIdentity, type SignalStores } from '../store/signal-stores.js';
import { MESSAGES_ANSWER_LIMIT_BYTES } from '../transport/answer-limits.js';
import type { ApiClient } from '../transport/api-client.js';
import { parseEnvelope, RelaySocket, type RelayEnvelope } from '../transport/relay-socket.js';
import { arr, bool, int, obj } from '../transport/response-checks.js';
import type { Operations } from './operations.js';

/** What the inbox works with. */
export interface InboxDeps {
  readonly api: ApiClient;
  readonly store: LocalStore;
  readonly stores: SignalStores;
  readonly messenger: Messenger;
  readonly ops: Operations;
  readonly clock: () => number;
  /** Removes messages whose disappearing timer ran out by `now`. */
  readonly expireMessages: (now: number) => number;
  /** Called for each message event received over the socket. */
  readonly onEvent?: ((e: MessageEvent) => void) | undefined;
  /** Called for each received event that recorded a new archive notice (receipts included). */
  readonly onArchiveNotice?: ((e: MessageEvent) => void) | undefined;
}

/** One client's incoming envelopes, receipts owed and prekey top-ups. */
export class Inbox {
  readonly #receipts = new ReceiptQueue();
  #socket: RelaySocket | undefined;

  constructor(private readonly deps: InboxDeps) {}

  /**
   * Handles one envelope (socket or HTTP fetch). Resolves to its event — or, for content held
   * until an own pending send completes (messaging/held-received.ts), to the last content
   * received that completing it released (undefined while it is still pending). The other
   * content it released (receipts aside) goes to `onEvent`, as on the socket: it is not lost.
   */
  async receive(env: RelayEnvelope): Promise<MessageEvent | undefined> {
    const events = await this.#handle(env);
    // What arrived (a sync copy is 'sent' but arrived too), not the own sends completed meanwhile.
    const arrived = (e: MessageEvent): boolean => e.direction === 'received' || e.syncCopy === true;
    const last = events.findLast(arrived);
    for (const e of events)
      if (e !== last && arrived(e) && e.content.kind !== 'receipt') this.deps.onEvent?.(e);
    return last;
  }

  /**
   * Handles one envelope: first the held content nothing holds back any more (a send that
   * completed it left it held), so it is applied before this envelope's content; then its
   * event; when its content was held, the pending sends are tried at once (unless `batch`
   * says the caller tries them once after its batch: every try may count toward
   * MAX_SEND_TRIES) and the events of those completed and of the content released (an
   * unanswered send leaves the content held, to be judged again when a later send or sync
   * completes it; the envelope is acknowledged either way: its content is kept). Whatever
   * completed or was released before an error is still noted (receipts owed, archive notices).
   */
  async #handle(env: RelayEnvelope, batch?: { held: boolean }): Promise<MessageEvent[]> {
    const { ops, messenger } = this.deps;
    const out: MessageEvent[] = [];
    try {
      await ops.serial(async () => {
        await messenger.releaseHeld(out);
        const got = await messenger.receive(env);
        if (got !== undefined) out.push(got);
        else if (batch !== undefined) batch.held ||= messenger.holding;
        else if (messenger.holding)
          await messenger.resumePending(out).catch((e: unknown) => {
            if (!isClientError(e, 'SEND_PENDING')) throw e;
          });
      });
    } finally {
      this.#received(out);
    }
    return out;
  }

  /** Notes the receipts owed for received events and tells of new archive notices. */
  #received(events: readonly MessageEvent[]): void {
    const { messenger } = this.deps;
    for (const e of events) {
      if (e.direction !== 'received') continue;
      this.#receipts.note(e, messenger.me);
      // After the receive committed: the notice is stored before anyone is told.
      if (e.newArchiveNotice === true) this.deps.onArchiveNotice?.(e);
    }
  }

  /**
   * Completes the sends left pending, adding to `out` their events and those of the content
   * held for them (messaging/held-received.ts); a send still unanswered stays pending.
   */
  async resumePending(out: MessageEvent[]): Promise<void> {
    const { ops, messenger } = this.deps;
    const before = out.length;
    try {
      await ops.serial(() => messenger.resumePending(out));
    } catch (e) {
      if (!isClientError(e, 'SEND_PENDING')) throw e;
    } finally {
      this.#received(out.slice(before));
    }
  }

  /** Sends the delivery receipts owed (best effort: a receipt lost to a network fault is not retried). */
  async #flushReceipts(): Promise<void> {
    for (const r of this.#receipts.take())
      await this.deps.ops.captured((m) => m.sendReceipt(r.to, r.type, r.ids, r.group)).catch(() => undefined);
  }

  /** Fetches and handles every queued envelope over HTTP, acknowledging each after it is stored. */
  async sync(): Promise<MessageEvent[]> {
    const { api } = this.deps;
    const out: MessageEvent[] = [];
    // Content held for an own pending send tries the pending sends once, after the last page.
    const batch = { held: false };
    for (;;) {
      const page = obj(
        await api.request('GET', '/v1/messages', { maxAnswerBytes: MESSAGES_ANSWER_LIMIT_BYTES }),
        'messages',
      );
      const envelopes = arr(page, 'envelopes').map(parseEnvelope);
      for (const env of envelopes) {
        // Receipts update stored messages (delivered/read) and are not returned as events.
        for (const e of await this.#handle(env, batch)) if (e.content.kind !== 'receipt') out.push(e);
        try {
          await api.request('DELETE', `/v1/messages/${env.id}`);
        } catch (err) {
          if (!(isClientError(err, 'SERVER_REFUSED') && err.server?.code === 'ENVELOPE_NOT_FOUND')) throw err;
        }
      }
      await this.#flushReceipts();
      if (!bool(page, 'more') || envelopes.length === 0) break;
    }
    if (batch.held) {
      const completed: MessageEvent[] = [];
      await this.resumePending(completed);
      for (const e of completed) if (e.content.kind !== 'receipt') out.push(e);
      await this.#flushReceipts();
    }
    this.deps.expireMessages(this.deps.clock());
    await this.replenishPrekeys();
    return out;
  }

  /** Opens the relay socket: envelopes are handled as they arrive and acknowledged after. */
  async connect(): Promise<void> {
    if (this.#socket !== undefined) return;
    this.#socket = new RelaySocket(this.deps.api, {
      onEnvelope: async (env) => {
        for (const e of await this.#handle(env)) if (e.content.kind !== 'receipt') this.deps.onEvent?.(e);
        await this.#flushReceipts();
      },
      onPrekeysLow: () => void this.replenishPrekeys().catch(() => undefined),
    });
    await this.#socket.start();
  }

  /** Waits until every envelope received on the socket so far is handled. */
  async settled(): Promise<void> {
    await this.#socket?.idle();
    await this.deps.ops.idle();
  }

  /** Stops the socket, if open. */
  async stop(): Promise<void> {
    await this.#socket?.stop();
    this.#socket = undefined;
  }

  /** Stops the socket without waiting (a simulated crash). */
  abandon(): void {
    void this.#socket?.stop();
  }

  /**
   * Tops one-time prekeys up to DEFAULT_ONE_TIME_PREKEYS / DEFAULT_KYBER_PREKEYS when the
   * server says the device is low. Resolves to whether it uploaded.
   */
  async replenishPrekeys(): Promise<boolean> {
    const { api, store, stores, ops } = this.deps;
    const status = obj(await api.request('GET', '/v1/prekeys'), 'prekey status');
    if (!bool(status, 'low')) return false;
    const oneTime = Math.max(0, DEFAULT_ONE_TIME_PREKEYS - int(status, 'oneTime'));
    const kyber = Math.max(0, DEFAULT_KYBER_PREKEYS - int(status, 'kyber'));
    const identity = loadLocalIdentity(store);
    const upload = await ops.serial(async () =>
      generatePrekeys(store, stores, identity, { oneTime, kyber, rotateSigned: false }),
    );
    await api.request('PUT', '/v1/prekeys', { body: upload });
    return true;
  }
}
