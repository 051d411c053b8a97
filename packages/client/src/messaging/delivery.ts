/**
 * Delivery of one padded content to every known device of one user: encrypt per device
 * (fetching a PQXDH bundle where there is no session), send the envelopes in one
 * `PUT /v1/messages`, and repair the cached device list when the server answers
 * MISMATCHED_DEVICES {missing, stale} — drop sessions of stale devices, fetch bundles of
 * missing ones — then try again, at most MAX_SEND_ATTEMPTS times.
 *
 * Each attempt encrypts in its own store transaction, which also hands the envelopes and a
 * fresh idempotency key to the caller's outbox (`keep`, send-outbox.ts): the ratchet advance
 * and the record of what is about to leave commit together, BEFORE the request. When the
 * request gets no answer (the server may have stored it), delivery throws SEND_PENDING and
 * the caller later resumes with exactly those envelopes and that key; only a refusal that
 * says nothing was stored under the key for this request (NOTHING_STORED) lets it encrypt
 * again. Any other answer (rate limited, a server or proxy error) is no answer either.
 */
import { signalEncrypt, type ProtocolAddress } from '@signalapp/libsignal-client';
import { ClientError, isClientError, isServerRefusal } from '../errors.js';
import { sha256 } from '../sha256.js';
import type { DeviceProfile } from '../profile.js';
import type { LocalStore } from '../store/local-store.js';
import type { SignalStores } from '../store/signal-stores.js';
import type { ApiClient } from '../transport/api-client.js';
import { int, obj } from '../transport/response-checks.js';
import { noteServerClaim } from './archive-notices.js';
import { newSendKey, SEND_KEY_RETENTION_MS, type InFlightSend, type OutboxEnvelope } from './send-outbox.js';
import {
  deviceAddress,
  fetchSessions,
  getContact,
  saveContact,
  userAddress,
  type Contact,
  type PeerDevice,
  type PeerUser,
} from './peers.js';

/**
 * Fetches bundles of `to` (every device, or one) and starts sessions; keeps the server's
 * claim that `to`'s org archives (F17, archive-notices.ts), so a first send can say so.
 */
async function fetchAndNote(c: DeliveryContext, to: PeerUser, deviceId?: string): Promise<PeerDevice[]> {
  const self = { deviceId: c.profile.deviceId, address: c.self };
  const got = await fetchSessions(c.api, c.stores, to, self, deviceId);
  if (got.claim !== undefined) noteServerClaim(c.store, got.claim, c.profile.orgId);
  return got.devices;
}

/** Send attempts when the server keeps reporting mismatched devices. */
export const MAX_SEND_ATTEMPTS = 4;

/**
 * The refusals of `PUT /v1/messages` that mean the server stored nothing under the request's
 * key for this request. The relay answers a remembered key before it checks the recipient,
 * the addressing and the queues (packages/server/src/relay/relay-service.ts, `readIntoView`
 * and `admit`), so USER_NOT_FOUND, MISMATCHED_DEVICES and QUEUE_FULL come after the key was
 * looked up and not found, IDEMPOTENCY_KEY_REUSED from the lookup itself; the others refuse
 * the request's bytes, which every try carried identically, before anything is stored (so
 * does a proxy's 413 body limit, whatever its body: `nothingStored`). Every other answer — RATE_LIMITED (the per-device limiter runs before the handler),
 * INTERNAL, UNAVAILABLE, LOG_PUSHBACK, a proxy's 502 or 504, a status without a JSON code —
 * says nothing about an earlier try, which may be stored: the request stays in flight.
 */
const NOTHING_STORED: ReadonlySet<string> = new Set([
  'USER_NOT_FOUND',
  'MISMATCHED_DEVICES',
  'QUEUE_FULL',
  'IDEMPOTENCY_KEY_REUSED',
  'INVALID_REQUEST',
  'MALFORMED_JSON',
  'BODY_TOO_LARGE',
]);

/**
 * Statuses of a first try's refusal that store nothing under its key, whatever its body says:
 * every 4xx (the relay's own refusals, a proxy's 413 body limit with an HTML page) except
 * those that ask to come back later. A first try's key is new to the server, so nothing of an
 * earlier try can be stored under it.
 */
const RETRY_LATER_STATUSES: ReadonlySet<number> = new Set([408, 425, 429]);

/**
 * Counted tries of one kept request (its first included) after which it is finished without a
 * confirming answer: as possibly delivered (delivery-uncertain) when a try may have reached
 * the relay, as refused when none can have. A try counts only when its answer leaves open
 * whether an earlier try was stored and will not change by waiting (a 5xx but the relay's
 * UNAVAILABLE, a proxy's 502 or 504 or other page, an unreadable answer): no answer
 * (offline), 408, 425, 429 and UNAVAILABLE never count, so a device offline or rate limited
 * for a while does not use them up. A send tries once; a sync at its start, and once more
 * after its last page when it received content held for the request (client/inbox.ts, never
 * once per envelope); an envelope received on the socket and held, once. So the sends, syncs
 * and receives held behind one request by answers that never confirm it are bounded.
 */
export const MAX_SEND_TRIES = 20;

/**
 * Node's codes for a request that never left this device (no connection was made): a try
 * that failed with one of them cannot have reached the relay.
 */
const NEVER_SENT_CODES: ReadonlySet<string> = new Set([
  'ECONNREFUSED',
  'ENOTFOUND',
  'EAI_AGAIN',
  'ENETUNREACH',
  'EHOSTUNREACH',
  'ENETDOWN',
]);

/**
 * Slack on SEND_KEY_RETENTION_MS for this device's clock: a repeat this close to the end of
 * the server's retention is treated as one the server may have forgotten (the cautious side:
 * its envelopes are kept in the record as possibly delivered rather than dropped).
 */
const RETENTION_SLACK_MS = 60 * 60 * 1000;

/** What delivery works with. */
export interface DeliveryContext {
  readonly store: LocalStore;
  readonly api: ApiClient;
  readonly stores: SignalStores;
  readonly profile: DeviceProfile;
  /** This device's libsignal address. */
  readonly self: ProtocolAddress;
  /** This device's user. */
  readonly me: PeerUser;
  readonly clock: () => number;
}

/** Why a kept request was finished without a confirming answer (Delivered.uncertain). */
export type UncertainReason = 'key-expired' | 'tries' | 'discarded';

/** What the server answered for a delivery, and the hashes of the envelopes sent. */
export interface Delivered {
  readonly serverTime: number;
  readonly hashes: Uint8Array[];
  /**
   * Set when a kept request was given up on: its first try may be at the server (`hashes`
   * are its envelopes), or may never have arrived. 'key-expired': the server no longer
   * remembered its key and refused the repeat (or a repeat past SEND_KEY_RETENTION_MS got no
   * confirming answer); 'tries': MAX_SEND_TRIES tries without a confirming answer;
   * 'discarded': the user discarded it (send-completion.ts).
   */
  readonly uncertain?: UncertainReason;
}

/**
 * Where delivery keeps the request it is about to make: `keep(p)` runs inside the
 * transaction that advanced the ratchet for `p`'s envelopes, before they are sent;
 * `keep(undefined)` once the server refused them (it stored nothing under `p.key`).
 */
export type KeepInFlight = (p: InFlightSend | undefined) => void;

/**
 * Encrypts `padded` for every known device of `to` and sends, repairing the device list on
 * mismatch; `resume` sends a kept request again first, unchanged. Throws SEND_PENDING when
 * a request got no answer (what it carried is with `keep`).
 */
export async function deliver(
  c: DeliveryContext,
  to: PeerUser,
  padded: Uint8Array,
  keep: KeepInFlight,
  resume?: InFlightSend,
): Promise<Delivered> {
  const { store, api } = c;
  let request = resume;
  for (let attempt = 0; attempt < MAX_SEND_ATTEMPTS; attempt++) {
    // A request kept by an earlier call may be stored at the server already.
    const repeat = request !== undefined;
    if (request === undefined) {
      const made = await store.atomically(() => prepareRequest(c, to, padded, keep));
      // Writing to oneself with no other device: nothing to send (the server needs at least one envelope).
      if (made === 'nothing') return { serverTime: c.clock(), hashes: [] };
      if (made === 'no-devices') {
        if (attempt > 0) throw new ClientError('DELIVERY_FAILED', 'the recipient has no devices');
        await store.atomically(() => repairDevices(c, to, contactOf(c, to), undefined, true));
        continue;
      }
      request = made;
    }
    const sending = request;
    // Whether an earlier try may have reached the relay. A request kept without the flag (its
    // first try under way when the device stopped, or a row written before the flag) may have.
    const mayHaveReached = repeat && sending.reached !== false;
    // The flag covers the try under way too: should the device stop during it, the row says
    // it may have reached the relay (written only while the row says no try has).
    if (repeat && sending.reached === false) {
      const { reached: _unknown, ...underWay } = sending;
      store.transaction(() => keep(underWay));
    }
    try {
      const res = obj(
        await api.request('PUT', '/v1/messages', {
          body: {
            recipient: { orgId: to.orgId, userId: to.userId },
            envelopes: sending.envelopes,
            idempotencyKey: sending.key,
          },
        }),
        'send result',
      );
      return { serverTime: int(res, 'serverTime'), hashes: [...sending.hashes] };
    } catch (e) {
      const failed = failedTry(e);
      const tries = (sending.tries ?? 0) + (failed.counts ? 1 : 0);
      const offline = unreachedCode(e);
      const reached = failed.reached || mayHaveReached;
      const kept: InFlightSend = {
        ...sending,
        tries,
        ...(offline === undefined ? {} : { unreached: (sending.unreached ?? 0) + 1 }),
        reached,
      };
      const expired = repeat && c.clock() - sending.sentAt >= SEND_KEY_RETENTION_MS - RETENTION_SLACK_MS;
      let refused = nothingStored(e, repeat);
      // A repeat the server may have forgotten (older than its key retention) that got a
      // definite refusal, or one still unconfirmed after MAX_SEND_TRIES counted tries: when a
      // try may have reached the relay, its first try may have been stored and delivered.
      // Encrypting again would deliver a second copy and lose that try's hashes from the
      // record; holding it for ever would block every later send. It is finished, with its
      // hashes kept as possibly delivered. When no try can have reached the relay, nothing of
      // it is at the server: it is refused like any request that stored nothing.
      const finished =
        repeat && (expired ? definite(e) : !refused && failed.counts && tries >= MAX_SEND_TRIES);
      if (finished && kept.reached)
        return {
          serverTime: c.clock(),
          hashes: [...sending.hashes],
          uncertain: expired ? 'key-expired' : 'tries',
        };
      if (finished) refused = true;
      // No answer that rules out an earlier try: the server may hold the envelopes. They stay
      // kept, to be sent again as they are — never encrypted again.
      if (!refused) {
        store.transaction(() => keep(kept));
        throw pendingError(e, offline, reached);
      }
      // A refusal: nothing was stored under the key, so these envelopes are dropped.
      request = undefined;
      if (!isServerRefusal(e, 'MISMATCHED_DEVICES')) {
        store.transaction(() => keep(undefined));
        throw e;
      }
      await store.atomically(async () => {
        keep(undefined);
        await repairDevices(c, to, contactOf(c, to), e, false);
      });
    }
  }
  throw new ClientError('DELIVERY_FAILED', 'the server kept reporting a changed device list');
}

/**
 * True when `e` says the server stored nothing under the request's key for this request
 * (NOTHING_STORED). On a first try any 4xx but those asking to come back later says so too
 * (RETRY_LATER_STATUSES): the key was new, so a proxy's refusal (an HTML 413) or
 * DEVICE_REVOKED (checked before the key) cannot hide an earlier try.
 */
function nothingStored(e: unknown, repeat: boolean): e is ClientError {
  if (!isClientError(e, 'SERVER_REFUSED') || e.server === undefined) return false;
  if (NOTHING_STORED.has(e.server.code)) return true;
  const { status } = e.server;
  // A proxy's body limit (an HTML 413) refuses the bytes, which every try carried identically.
  if (status === 413) return true;
  return !repeat && status >= 400 && status < 500 && !RETRY_LATER_STATUSES.has(status);
}

/**
 * What a failed try says about its request: whether it `counts` toward MAX_SEND_TRIES (an
 * answer that leaves an earlier try's fate open and will not change by waiting) and whether
 * it may have `reached` the relay and been stored (no answer after the request left; a 5xx
 * but UNAVAILABLE, which the relay answers before its handler while shutting down or after
 * rolling its transaction back; an unreadable answer). A 4xx stored nothing of this try.
 */
function failedTry(e: unknown): { counts: boolean; reached: boolean } {
  if (isClientError(e, 'NETWORK')) return { counts: false, reached: !neverSent(e) };
  if (!isClientError(e, 'SERVER_REFUSED') || e.server === undefined) return { counts: true, reached: true };
  const { status, code } = e.server;
  if (RETRY_LATER_STATUSES.has(status) || (status === 503 && code === 'UNAVAILABLE'))
    return { counts: false, reached: false };
  return { counts: true, reached: status >= 500 };
}

/**
 * True for a failure that may be gone at the next try: no answer, a refusal asking to come
 * back later (RETRY_LATER_STATUSES), a server or proxy error (5xx). Any other 4xx, or an
 * answer that does not parse or verify, would fail again.
 */
export function transientFailure(e: unknown): boolean {
  if (isClientError(e, 'NETWORK')) return true;
  if (!isClientError(e, 'SERVER_REFUSED') || e.server === undefined) return false;
  const { status } = e.server;
  return RETRY_LATER_STATUSES.has(status) || status >= 500;
}

/** True when the request of a NETWORK failure never left this device (NEVER_SENT_CODES). */
function neverSent(e: ClientError): boolean {
  const code = (e.cause as { cause?: { code?: unknown } } | undefined)?.cause?.code;
  return typeof code === 'string' && NEVER_SENT_CODES.has(code);
}

/** Node's code (NEVER_SENT_CODES) when `e` is a try that never left this device; else undefined. */
function unreachedCode(e: unknown): string | undefined {
  if (!isClientError(e, 'NETWORK') || !neverSent(e)) return undefined;
  return String((e.cause as { cause: { code: string } }).cause.code);
}

/**
 * SEND_PENDING for a try that left the send kept: the server could not be reached (`offline`,
 * node's code), and then, when no try can have reached it (`reached` false), nothing was sent;
 * or it did not answer, and it may have the message.
 */
function pendingError(e: unknown, offline: string | undefined, reached: boolean): ClientError {
  const kept = 'the message is kept and sent again, unchanged, by the next send or sync';
  const message =
    offline === undefined
      ? `the server did not answer the send: ${kept}`
      : reached
        ? `the server could not be reached (${offline}) to confirm an earlier try, which it may have: ${kept}`
        : `the server could not be reached (${offline}): nothing was sent; ${kept}`;
  return new ClientError('SEND_PENDING', message, { cause: e, notSent: offline !== undefined && !reached });
}

/**
 * True for an answer that refuses a repeat for good: NOTHING_STORED, a proxy's 413, or any
 * 4xx with the relay's JSON code but those asking to come back later. A rate limit, a
 * timeout, a 5xx or a proxy's other page may be gone at the next try.
 */
function definite(e: unknown): boolean {
  if (nothingStored(e, true)) return true;
  if (!isClientError(e, 'SERVER_REFUSED') || e.server === undefined) return false;
  const { status, code } = e.server;
  return status >= 400 && status < 500 && !RETRY_LATER_STATUSES.has(status) && code !== 'UNKNOWN';
}

/** The cached contact of `to` (an empty device list before the first fetch). */
function contactOf(c: DeliveryContext, to: PeerUser): Contact {
  return getContact(c.store, to) ?? { ...to, devices: [] };
}

/**
 * One attempt's request, inside its transaction: envelopes for every known device of `to`
 * (the device list fetched on first contact), handed to `keep` with a fresh key. 'nothing'
 * for one's own user with no other device; 'no-devices' when no device is left to address.
 */
async function prepareRequest(
  c: DeliveryContext,
  to: PeerUser,
  padded: Uint8Array,
  keep: KeepInFlight,
): Promise<InFlightSend | 'nothing' | 'no-devices'> {
  const { store } = c;
  let contact = getContact(store, to);
  if (contact === undefined) {
    contact = { ...to, devices: await fetchAndNote(c, to) };
    saveContact(store, contact);
  }
  const { envelopes, hashes, gone } = await encryptForDevices(c, to, contact.devices, padded);
  if (gone.length > 0)
    saveContact(store, { ...contact, devices: contact.devices.filter((d) => !gone.includes(d.deviceId)) });
  if (envelopes.length === 0) return userAddress(to) === userAddress(c.me) ? 'nothing' : 'no-devices';
  const request: InFlightSend = { to, key: newSendKey(), envelopes, hashes, sentAt: c.clock() };
  keep(request);
  return request;
}

/**
 * One envelope per device of `to` other than this one, fetching a session where there is
 * none. A device without a session that the server no longer knows (its session was dropped,
 * e.g. by accepting a changed identity) is `gone`: left out, so the server names the
 * current devices as missing.
 */
async function encryptForDevices(
  c: DeliveryContext,
  to: PeerUser,
  devices: readonly PeerDevice[],
  padded: Uint8Array,
): Promise<{ envelopes: OutboxEnvelope[]; hashes: Uint8Array[]; gone: string[] }> {
  const { stores, profile } = c;
  const envelopes: OutboxEnvelope[] = [];
  const hashes: Uint8Array[] = [];
  const gone: string[] = [];
  for (const d of devices) {
    if (d.deviceId === profile.deviceId) continue;
    const address = deviceAddress(to, d.deviceNumber);
    if ((await stores.sessions.getSession(address))?.hasCurrentState() !== true) {
      try {
        await fetchAndNote(c, to, d.deviceId);
      } catch (e) {
        if (!isServerRefusal(e, 'DEVICE_NOT_FOUND')) throw e;
        gone.push(d.deviceId);
        continue;
      }
    }
    const ct = await signalEncrypt(new Uint8Array(padded), address, c.self, stores.sessions, stores.identity);
    const bytes = ct.serialize();
    hashes.push(sha256(bytes));
    envelopes.push({
      deviceId: d.deviceId,
      type: ct.type(),
      content: Buffer.from(bytes).toString('base64url'),
    });
  }
  return { envelopes, hashes, gone };
}

/**
 * The device list after the server's refusal: stale devices (and their sessions) dropped,
 * missing ones fetched; with no envelopes sent at all, the whole list is fetched again.
 */
async function repairDevices(
  c: DeliveryContext,
  to: PeerUser,
  contact: Contact,
  refusal: unknown,
  nothingSent: boolean,
): Promise<Contact> {
  const { store, stores } = c;
  const details = (refusal instanceof ClientError ? refusal.server?.details : undefined) as
    { missing?: unknown; stale?: unknown } | undefined;
  const missing = Array.isArray(details?.missing) ? details.missing.filter((x) => typeof x === 'string') : [];
  const stale = new Set(
    Array.isArray(details?.stale) ? details.stale.filter((x) => typeof x === 'string') : [],
  );
  let devices: PeerDevice[] = contact.devices.filter((d) => !stale.has(d.deviceId));
  for (const d of contact.devices)
    if (stale.has(d.deviceId)) stores.sessions.deleteSession(deviceAddress(to, d.deviceNumber).toString());
  if (nothingSent) devices = await fetchAndNote(c, to);
  for (const id of missing) {
    const added = await fetchAndNote(c, to, id);
    devices = [...devices.filter((d) => !added.some((a) => a.deviceId === d.deviceId)), ...added];
  }
  const repaired = { ...to, devices };
  saveContact(store, repaired);
  return repaired;
}
