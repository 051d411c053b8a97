/**
 * Keeps this device's list of its own user's other devices current, so sync copies reach a
 * newly linked device. The messenger repairs a peer's device list from the server's
 * mismatched-devices answer, but a copy to oneself goes out only to devices already known:
 * a device linked since the list was cached would never get one. So before a send, the
 * list is re-read from `GET /v1/devices` while a link code this device issued may still be
 * used, and otherwise at most every OWN_DEVICES_REFRESH_MS. Both times live in the store, so
 * a client opened per command (the `custos` CLI) does not re-read on every send.
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

/** When the next read is due, and until when a link code this device issued may be used (ms). */
interface WatchTimes {
  readonly nextCheck: number;
  readonly linkPendingUntil: number;
}

/** Row of the `profile` table holding {@link WatchTimes}. */
const WATCH_KEY = 'own-devices-watch';

/** Per profile: when to re-read the user's own devices. Call its methods inside the client's serial queue. */
export class OwnDeviceWatch {
  constructor(private readonly deps: OwnDeviceWatchDeps) {}

  #times(): WatchTimes {
    return this.deps.store.getJson<WatchTimes>('profile', WATCH_KEY) ?? { nextCheck: 0, linkPendingUntil: 0 };
  }

  #save(t: WatchTimes): void {
    this.deps.store.putJson('profile', WATCH_KEY, t);
  }

  /** A link code was issued: re-read before each send until it expires or a new device shows up. */
  noteLinkCode(expiresAt: number): void {
    const t = this.#times();
    this.#save({ ...t, linkPendingUntil: Math.max(t.linkPendingUntil, expiresAt) });
  }

  /** Lists the user's devices and updates the cached list. */
  async list(): Promise<OwnDevice[]> {
    const devices = await listOwnDevices(this.deps.api);
    const added = reconcileOwnDevices(this.deps.store, this.deps.me(), this.deps.deviceId, devices);
    const t = this.#times();
    this.#save({
      nextCheck: this.deps.clock() + OWN_DEVICES_REFRESH_MS,
      linkPendingUntil: added ? 0 : t.linkPendingUntil,
    });
    return devices;
  }

  /** Before a send: re-read when due. A failed read is ignored: the send goes to the devices known. */
  async beforeSend(): Promise<void> {
    const now = this.deps.clock();
    const t = this.#times();
    if (now < t.nextCheck && now >= t.linkPendingUntil) return;
    await this.list().catch(() => undefined);
  }
}
