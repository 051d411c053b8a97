/**
 * Peers: users (in any organisation on the server), their devices as this device knows
 * them, libsignal addresses, and sessions started from the server's prekey bundles.
 * A device is named to libsignal as `<orgId>.<userId>` with the server's device number.
 */
import { createHash } from 'node:crypto';
import {
  KEMPublicKey,
  PreKeyBundle,
  ProtocolAddress,
  PublicKey,
  processPreKeyBundle,
} from '@signalapp/libsignal-client';
import { ClientError } from '../errors.js';
import type { LocalStore } from '../store/local-store.js';
import type { SignalStores } from '../store/signal-stores.js';
import type { ApiClient } from '../transport/api-client.js';
import { arr, bytes, int, obj, str, type Json } from '../transport/response-checks.js';
import { parseServerClaim, type ServerArchiveClaim } from './archive-notices.js';

/** A user anywhere on the server. */
export interface PeerUser {
  readonly orgId: string;
  readonly userId: string;
}

/** One device of a peer. */
export interface PeerDevice {
  readonly deviceId: string;
  readonly deviceNumber: number;
}

/** What this device knows of a peer user. */
export interface Contact extends PeerUser {
  readonly devices: readonly PeerDevice[];
  /** The display name the user sent in their content (unverified: anyone can pick any name). */
  readonly name?: string;
}

/** The user's address text (`org.user`), used as libsignal name and in archive records. */
export function userAddress(u: PeerUser): string {
  return `${u.orgId}.${u.userId}`;
}

/** The user named by an address text of {@link userAddress} (ids hold no '.'). */
export function userOfAddress(address: string): PeerUser {
  const dot = address.indexOf('.');
  return { orgId: address.slice(0, dot), userId: address.slice(dot + 1) };
}

/** The libsignal address of one device. */
export function deviceAddress(u: PeerUser, deviceNumber: number): ProtocolAddress {
  try {
    return ProtocolAddress.new(userAddress(u), deviceNumber);
  } catch (e) {
    throw new ClientError(
      'ENVELOPE_INVALID',
      `device number ${deviceNumber} is not a valid Signal device id`,
      {
        cause: e,
      },
    );
  }
}

/** The stable id of the 1:1 conversation of two users (same on both sides). */
export function directConversationId(a: PeerUser, b: PeerUser): string {
  const pair = [userAddress(a), userAddress(b)].sort().join('\n');
  return `dm.${createHash('sha256').update(pair).digest('base64url').slice(0, 22)}`;
}

/** The stored contact, or undefined. */
export function getContact(store: LocalStore, u: PeerUser): Contact | undefined {
  return store.getJson<Contact>('contacts', userAddress(u));
}

/** Stores a contact's device list. */
export function saveContact(store: LocalStore, c: Contact): void {
  const name = c.name ?? getContact(store, c)?.name;
  store.putJson('contacts', userAddress(c), {
    orgId: c.orgId,
    userId: c.userId,
    devices: c.devices,
    ...(name === undefined ? {} : { name }),
  });
}

/** Records the display name a peer sent. */
export function noteContactName(store: LocalStore, u: PeerUser, name: string): void {
  const c = getContact(store, u) ?? { ...u, devices: [] };
  if (c.name !== name) saveContact(store, { ...c, name });
}

/** Every contact this device knows. */
export function listContacts(store: LocalStore): Contact[] {
  return store.list('contacts').map((r) => JSON.parse(Buffer.from(r.value).toString('utf8')) as Contact);
}

/** Adds (or renumbers) one device of a contact, e.g. a sender the relay vouches for. */
export function noteDevice(store: LocalStore, u: PeerUser, d: PeerDevice): void {
  const c = getContact(store, u) ?? { ...u, devices: [] };
  if (c.devices.some((x) => x.deviceId === d.deviceId && x.deviceNumber === d.deviceNumber)) return;
  saveContact(store, { ...c, devices: [...c.devices.filter((x) => x.deviceId !== d.deviceId), d] });
}

/**
 * IDENTITY_CHANGED naming the libsignal address (`<org>.<user>.<device>`) whose key changed,
 * so a send that fails (and rolls its transaction back) can still leave the change recorded.
 */
export class IdentityChangedError extends ClientError {
  constructor(
    readonly address: string,
    message: string,
    options?: { cause?: unknown },
  ) {
    super('IDENTITY_CHANGED', message, options);
  }
}

/** Starts a session from one device bundle of the server; returns the device. */
async function processBundle(
  stores: SignalStores,
  u: PeerUser,
  b: Json,
  self: ProtocolAddress,
): Promise<PeerDevice> {
  const deviceNumber = int(b, 'deviceNumber');
  const spk = obj(b.signedPreKey, 'signedPreKey');
  const kyber = obj(b.kyberPreKey, 'kyberPreKey');
  const otk = b.oneTimePreKey === null ? null : obj(b.oneTimePreKey, 'oneTimePreKey');
  let bundle: PreKeyBundle;
  try {
    bundle = PreKeyBundle.new(
      int(b, 'registrationId'),
      deviceNumber,
      otk === null ? null : int(otk, 'keyId'),
      otk === null ? null : PublicKey.deserialize(bytes(otk, 'publicKey', 33)),
      int(spk, 'keyId'),
      PublicKey.deserialize(bytes(spk, 'publicKey', 33)),
      bytes(spk, 'signature', 64),
      PublicKey.deserialize(bytes(b, 'identityKey', 33)),
      int(kyber, 'keyId'),
      KEMPublicKey.deserialize(bytes(kyber, 'publicKey')),
      bytes(kyber, 'signature', 64),
    );
  } catch (e) {
    if (e instanceof ClientError) throw e;
    throw new ClientError('SERVER_RESPONSE_INVALID', 'a prekey bundle holds a malformed key', { cause: e });
  }
  const address = deviceAddress(u, deviceNumber);
  try {
    await processPreKeyBundle(bundle, address, self, stores.sessions, stores.identity);
  } catch (e) {
    if (stores.identity.changes().some((c) => c.address === address.toString() && !c.accepted)) {
      throw new IdentityChangedError(
        address.toString(),
        `the identity key of a device of ${userAddress(u)} changed; compare safety numbers before accepting it`,
        { cause: e },
      );
    }
    throw new ClientError('SERVER_RESPONSE_INVALID', 'a prekey bundle does not verify', { cause: e });
  }
  return { deviceId: str(b, 'deviceId'), deviceNumber };
}

/** What a bundle fetch brought: the devices added, and the server's word on the peer org's archive policy. */
export interface FetchedSessions {
  readonly devices: PeerDevice[];
  readonly claim: ServerArchiveClaim | undefined;
}

/**
 * Fetches bundles for every current device of `u` (or only `deviceId`) and starts sessions;
 * the caller's own device is skipped. Resolves to the devices added and the server's claim.
 */
export async function fetchSessions(
  api: ApiClient,
  stores: SignalStores,
  u: PeerUser,
  self: { deviceId: string; address: ProtocolAddress },
  deviceId?: string,
): Promise<FetchedSessions> {
  const path =
    deviceId === undefined
      ? `/v1/prekey-bundles/${u.orgId}/${u.userId}`
      : `/v1/prekey-bundles/${u.orgId}/${u.userId}/${deviceId}`;
  const res = obj(await api.request('GET', path), 'prekey bundles');
  const out: PeerDevice[] = [];
  for (const item of arr(res, 'devices')) {
    const b = obj(item, 'bundle');
    if (str(b, 'deviceId') === self.deviceId) continue;
    out.push(await processBundle(stores, u, b, self.address));
  }
  return { devices: out, claim: parseServerClaim(res, u.orgId) };
}
