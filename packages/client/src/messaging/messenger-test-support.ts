/**
 * Fixtures the messaging unit tests share: two peers of one org, and Dave's messenger over a
 * real local store in a temporary folder. Tests only; nothing in the SDK imports it.
 */
import { mkdtempSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import type { ArchiveCapture } from '../archive/capture.js';
import type { DeviceProfile } from '../profile.js';
import { LocalStore } from '../store/local-store.js';
import { signalStores } from '../store/signal-stores.js';
import type { ApiClient } from '../transport/api-client.js';
import { Messenger } from './messenger.js';
import type { PeerUser } from './peers.js';

export const DAVE: PeerUser = { orgId: 'org-a', userId: 'dave' };
export const FRANK: PeerUser = { orgId: 'org-a', userId: 'frank' };

/** A new local store in a temporary folder, whose path is added to `dirs` (the test removes them). */
export function tempStore(dirs: string[], prefix: string): LocalStore {
  const dir = mkdtempSync(join(tmpdir(), prefix));
  dirs.push(dir);
  return LocalStore.create(join(dir, 'p'), { kind: 'file' });
}

/** A capture that numbers what it captures (seq 1, 2, …), and the bodies it was given. */
export function countingCapture(): { capture: ArchiveCapture; captured: unknown[] } {
  const captured: unknown[] = [];
  const capture = {
    prepare: () => Promise.resolve(),
    captureSync: (body: unknown) => {
      captured.push(body);
      return { seq: captured.length };
    },
  } as unknown as ArchiveCapture;
  return { capture, captured };
}

/** Dave's messenger (device dave-1, capture required) over `store`; `api` and `capture` default to ones that do nothing. */
export function daveMessenger(
  store: LocalStore,
  o: { readonly api?: ApiClient; readonly capture?: ArchiveCapture; readonly clock: () => number },
): Messenger {
  const profile = {
    serverUrl: 'http://127.0.0.1:1',
    orgId: DAVE.orgId,
    orgName: 'Example Agency',
    userId: DAVE.userId,
    deviceId: 'dave-1',
    deviceNumber: 1,
    captureRequired: true,
  } as DeviceProfile;
  return new Messenger({
    store,
    api: o.api ?? ({} as ApiClient),
    profile,
    stores: signalStores(store),
    capture: o.capture ?? ({} as ArchiveCapture),
    clock: o.clock,
  });
}
