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

  /** Handles one envelope (socket or HTTP fetch). */
  async receive(env: RelayEnvelope): Promise<MessageEvent | undefined> {
    const { ops, messenger } = this.deps;
    const e = await ops.serial(async () => {
      const got = await messenger.receive(env);
      if (got !== undefined) this.#receipts.note(got, messenger.me);
      return got;
    });
    // After the receive committed: the notice is stored before anyone is told.
    if (e?.newArchiveNotice === true) this.deps.onArchiveNotice?.(e);
    return e;
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
    for (;;) {
      const page = obj(
        await api.request('GET', '/v1/messages', { maxAnswerBytes: MESSAGES_ANSWER_LIMIT_BYTES }),
        'messages',
      );
      const envelopes = arr(page, 'envelopes').map(parseEnvelope);
      for (const env of envelopes) {
        const e = await this.receive(env);
        // Receipts update stored messages (delivered/read) and are not returned as events.
        if (e !== undefined && e.content.kind !== 'receipt') out.push(e);
        try {
          await api.request('DELETE', `/v1/messages/${env.id}`);
        } catch (err) {
          if (!(isClientError(err, 'SERVER_REFUSED') && err.server?.code === 'ENVELOPE_NOT_FOUND')) throw err;
        }
      }
      await this.#flushReceipts();
      if (!bool(page, 'more') || envelopes.length === 0) break;
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
        const e = await this.receive(env);
        if (e !== undefined && e.content.kind !== 'receipt') this.deps.onEvent?.(e);
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
