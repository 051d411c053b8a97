/**
 * How a client is put together: one open store and API client, and the parts built over
 * them (Signal stores, archive capture and upload, messenger, operation queue, inbox,
 * conversations, own-device watch). `CustosClient` (custos-client.ts) holds the parts and
 * exposes the public API; this module owns their wiring and the order they are built in.
 */
import { ArchiveCapture } from '../archive/capture.js';
import { ArchiveUploader } from '../archive/uploader.js';
import { OwnDeviceWatch } from '../devices/own-device-watch.js';
import { Messenger, type MessageEvent } from '../messaging/messenger.js';
import { loadProfile, type DeviceProfile } from '../profile.js';
import type { LocalStore } from '../store/local-store.js';
import { loadLocalIdentity, signalStores, type SignalStores } from '../store/signal-stores.js';
import type { StorageKeyOptions } from '../store/storage-key.js';
import type { ApiClient, ApiClientOptions } from '../transport/api-client.js';
import { ArchiveWork } from './archive-work.js';
import { Conversations } from './conversations.js';
import { Inbox } from './inbox.js';
import { Operations } from './operations.js';

/** Options to open a profile. */
export interface OpenOptions extends StorageKeyOptions {
  readonly passphrase?: string;
  readonly api?: ApiClientOptions;
  readonly clock?: () => number;
  /** Called for each message event received over the socket. */
  readonly onEvent?: (e: MessageEvent) => void;
  /**
   * Called after a received event (socket, sync or `receive`) recorded an archive notice new
   * to its conversation (F17) — receipts included, which `sync()` and `onEvent` leave out.
   */
  readonly onArchiveNotice?: (e: MessageEvent) => void;
  /**
   * Called for each send that completed after its caller was told SEND_PENDING, whichever
   * call completed it: a later send or receipt, or `sync()` (which also returns it).
   */
  readonly onSent?: (e: MessageEvent) => void;
}

/** The parts of one client. */
export interface ClientParts {
  readonly store: LocalStore;
  readonly api: ApiClient;
  readonly clock: () => number;
  readonly stores: SignalStores;
  readonly capture: ArchiveCapture;
  readonly messenger: Messenger;
  readonly uploader: ArchiveUploader;
  readonly archive: ArchiveWork;
  readonly ownDevices: OwnDeviceWatch;
  readonly ops: Operations;
  readonly conversations: Conversations;
  readonly inbox: Inbox;
  /** The current profile (a key refresh may replace it: new key manager or retention class). */
  profile(): DeviceProfile;
}

/**
 * Builds the parts over `store` and `api` and gives `api` the device's credentials. Parts
 * that need one another (the archive work and the operation queue) get functions.
 */
export function wireClient(store: LocalStore, api: ApiClient, options: OpenOptions): ClientParts {
  const clock = options.clock ?? Date.now;
  let profile = loadProfile(store);
  const current = (): DeviceProfile => profile;
  const identity = loadLocalIdentity(store);
  api.setCredentials({ orgId: profile.orgId, deviceId: profile.deviceId, identityKey: identity.privateKey });
  const stores = signalStores(store, clock);
  const capture = new ArchiveCapture(store, current, clock);
  const messenger = new Messenger({ store, api, profile, stores, capture, clock, onSent: options.onSent });
  const uploader = new ArchiveUploader(store, api, profile, identity.privateKey, { clock });
  const ownDevices = new OwnDeviceWatch({
    api,
    store,
    me: () => messenger.me,
    deviceId: profile.deviceId,
    deviceNumber: profile.deviceNumber,
    clock,
  });
  // The queue and the archive work refer to each other: each is called only after both exist.
  const ops: Operations = new Operations({
    messenger,
    ownDevices,
    refreshKeys: () => archive.refreshNow(),
    refreshKeysIfDue: () => archive.refreshIfDue(),
  });
  const archive: ArchiveWork = new ArchiveWork({
    store,
    api,
    capture,
    uploader,
    ops: () => ops,
    clock,
    profile: current,
    onProfile: (p) => (profile = p),
  });
  const conversations = new Conversations(store, profile, messenger.me, ops);
  const inbox = new Inbox({
    api,
    store,
    stores,
    messenger,
    ops,
    clock,
    expireMessages: (now) => conversations.expireMessages(now),
    onEvent: options.onEvent,
    onArchiveNotice: options.onArchiveNotice,
  });
  return {
    store,
    api,
    clock,
    stores,
    capture,
    messenger,
    uploader,
    archive,
    ownDevices,
    ops,
    conversations,
    inbox,
    profile: current,
  };
}
