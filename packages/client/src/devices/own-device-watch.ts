/**
 * Keeps this device's list of its own user's other devices current, so sync copies reach a
 * newly linked device. The messenger repairs a peer's device list from the server's
 * mismatched-devices answer, but a copy to oneself goes out only to devices already known:
 * a device linked since the list was cached would never get one. So before a send, the
 * list is re-read from `GET /v1/devices` while a link code this device issued may still be
 * used, and otherwise at most every OWN_DEVICES_REFRESH_MS.
 */
import type { LocalStore } from '../store/local-store.js';
import { getContact, saveContact, type PeerDevice, type PeerUser } from '../messaging/peers.js';
import type { ApiClient } from '../transport/api-client.js';
import { listOwnDevices, type OwnDevice } from './own-devices.js';

/** How often a send re-reads the user's own devices when no link is pending. */
export const OWN_DEVICES_REFRESH_MS = 15 * 60 * 1000;

/**
 * Sets the cached device list of this user to the server's active devices other than this
 * one; resolves to whether a device was added. Revoked devices leave the list.
 */
export function reconcileOwnDevices(
  store: LocalStore,
  me: PeerUser,
  selfDeviceId: string,
  devices: readonly OwnDevice[],
): boolean {
  const known = getContact(store, me);
  const active: PeerDevice[] = devices
    .filter((d) => d.revokedAt === null && d.deviceId !== selfDeviceId)
    .map((d) => ({ deviceId: d.deviceId, deviceNumber: d.deviceNumber }));
  const had = new Set((known?.devices ?? []).map((d) => `${d.deviceId}.${d.deviceNumber}`));
  const now = new Set(active.map((d) => `${d.deviceId}.${d.deviceNumber}`));
  const added = [...now].some((k) => !had.has(k));
  const removed = [...had].some((k) => !now.has(k));
  if (added || removed) saveContact(store, { ...(known ?? me), devices: active });
  return added;
}

/** What the watch needs from the client. */
export interface OwnDeviceWatchDeps {
  readonly api: ApiClient;
  readonly store: LocalStore;
  readonly me: () => PeerUser;
  readonly deviceId: string;
  readonly clock: () => number;
}

/** Per open client: when to re-read the user's own devices. Call its methods inside the client's serial queue. */
export class OwnDeviceWatch {
  #linkPendingUntil = 0;
  #nextCheck = 0;

  constructor(private readonly deps: OwnDeviceWatchDeps) {}

  /** A link code was issued: re-read before each send until it expires or a new device shows up. */
  noteLinkCode(expiresAt: number): void {
    this.#linkPendingUntil = Math.max(this.#linkPendingUntil, expiresAt);
  }

  /** Lists the user's devices and updates the cached list. */
  async list(): Promise<OwnDevice[]> {
    const devices = await listOwnDevices(this.deps.api);
    if (reconcileOwnDevices(this.deps.store, this.deps.me(), this.deps.deviceId, devices))
      this.#linkPendingUntil = 0;
    this.#nextCheck = this.deps.clock() + OWN_DEVICES_REFRESH_MS;
    return devices;
  }

  /** Before a send: re-read when due. A failed read is ignored: the send goes to the devices known. */
  async beforeSend(): Promise<void> {
    const now = this.deps.clock();
    if (now < this.#nextCheck && now >= this.#linkPendingUntil) return;
    await this.list().catch(() => undefined);
  }
}
