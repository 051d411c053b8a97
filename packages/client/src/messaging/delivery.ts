/**
 * Delivery of one padded content to every known device of one user: encrypt per device
 * (fetching a PQXDH bundle where there is no session), send the envelopes in one
 * `PUT /v1/messages`, and repair the cached device list when the server answers
 * MISMATCHED_DEVICES {missing, stale} — drop sessions of stale devices, fetch bundles of
 * missing ones — then try again, at most MAX_SEND_ATTEMPTS times. Runs inside the caller's
 * store transaction, so a failed send leaves the device list and sessions as they were.
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

/** What the server answered for a delivery, and the hashes of the envelopes sent. */
export interface Delivered {
  readonly serverTime: number;
  readonly hashes: Uint8Array[];
}

type Envelope = { deviceId: string; type: number; content: string };

/** Encrypts `padded` for every known device of `to` and sends, repairing the device list on mismatch. */
export async function deliver(c: DeliveryContext, to: PeerUser, padded: Uint8Array): Promise<Delivered> {
  const { store, api } = c;
  let contact = getContact(store, to);
  if (contact === undefined) {
    contact = { ...to, devices: await fetchAndNote(c, to) };
    saveContact(store, contact);
  }
  for (let attempt = 0; attempt < MAX_SEND_ATTEMPTS; attempt++) {
    const { envelopes, hashes, gone } = await encryptForDevices(c, to, contact.devices, padded);
    if (gone.length > 0) {
      contact = { ...contact, devices: contact.devices.filter((d) => !gone.includes(d.deviceId)) };
      saveContact(store, contact);
    }
    // Writing to oneself with no other device: nothing to send (the server needs at least one envelope).
    if (envelopes.length === 0 && userAddress(to) === userAddress(c.me))
      return { serverTime: c.clock(), hashes };
    try {
      if (envelopes.length === 0) throw new ClientError('DELIVERY_FAILED', 'the recipient has no devices');
      const res = obj(
        await api.request('PUT', '/v1/messages', {
          body: { recipient: { orgId: to.orgId, userId: to.userId }, envelopes },
        }),
        'send result',
      );
      return { serverTime: int(res, 'serverTime'), hashes };
    } catch (e) {
      if (
        !isServerRefusal(e, 'MISMATCHED_DEVICES') &&
        !(isClientError(e, 'DELIVERY_FAILED') && attempt === 0)
      )
        throw e;
      contact = await repairDevices(c, to, contact, e, envelopes.length === 0);
    }
  }
  throw new ClientError('DELIVERY_FAILED', 'the server kept reporting a changed device list');
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
): Promise<{ envelopes: Envelope[]; hashes: Uint8Array[]; gone: string[] }> {
  const { stores, profile } = c;
  const envelopes: Envelope[] = [];
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
