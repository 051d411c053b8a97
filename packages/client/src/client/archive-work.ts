/**
 * A client's archive work, each step in its operation queue: sealing what sends and
 * receipts captured (soon after them, in the background; archive/pending-records.ts),
 * keeping the archive material current (archive/archive-material.ts), upload and proofs.
 */
import {
  archiveMaterialDue,
  refreshArchiveMaterial,
  type ArchiveMaterialRefresh,
} from '../archive/archive-material.js';
import type { ArchiveCapture } from '../archive/capture.js';
import { verifyArchiveProofs, type ProofRound } from '../archive/proofs.js';
import type { ArchiveUploader } from '../archive/uploader.js';
import type { DeviceProfile } from '../profile.js';
import type { LocalStore } from '../store/local-store.js';
import { loadLocalIdentity } from '../store/signal-stores.js';
import type { ApiClient } from '../transport/api-client.js';
import type { Operations } from './operations.js';

/** What the archive work needs from the client. */
export interface ArchiveWorkDeps {
  readonly store: LocalStore;
  readonly api: ApiClient;
  readonly capture: ArchiveCapture;
  readonly uploader: ArchiveUploader;
  readonly ops: () => Operations;
  readonly clock: () => number;
  readonly profile: () => DeviceProfile;
  /** Called with the profile a refresh saved (new key manager or retention class). */
  readonly onProfile: (p: DeviceProfile) => void;
}

/** One client's archive steps. */
export class ArchiveWork {
  #sealQueued = false;

  constructor(private readonly d: ArchiveWorkDeps) {}

  /** After `op` captured records: seals them in the background, in the queue after `op`. */
  sealSoon<T>(op: Promise<T>): Promise<T> {
    return op.finally(() => {
      if (this.#sealQueued) return;
      this.#sealQueued = true;
      setImmediate(() => {
        this.#sealQueued = false;
        if (!this.d.store.closed) void this.seal().catch(() => undefined);
      });
    });
  }

  /** Seals the records captured since the last seal. */
  seal(): Promise<number> {
    return this.d.ops().serial(() => this.d.capture.sealPending());
  }

  /** Refreshes the archive material now (outside the queue: for code already running in it). */
  async refreshNow(): Promise<ArchiveMaterialRefresh> {
    const identity = loadLocalIdentity(this.d.store).privateKey;
    const r = await refreshArchiveMaterial(this.d.api, this.d.store, identity, this.d.clock());
    this.d.onProfile(r.profile);
    return r;
  }

  /** The same when due (a client that stays open); never fails. */
  async refreshIfDue(): Promise<void> {
    if (archiveMaterialDue(this.d.store, this.d.clock())) await this.refreshNow().catch(() => undefined);
  }

  /** Seals, uploads (with retry) and verifies the proofs that checkpoints cover. */
  flush(): Promise<{ uploaded: number; proofs: ProofRound }> {
    return this.d.ops().serial(async () => {
      await this.d.capture.sealPending();
      await this.d.uploader.resume();
      const uploaded = await this.d.uploader.uploadAll();
      const proofs = await verifyArchiveProofs(this.d.api, this.d.store, this.d.profile());
      return { uploaded, proofs };
    });
  }

  /** Seals and uploads only (no proof check). */
  upload(): Promise<number> {
    return this.d.ops().serial(async () => {
      await this.d.capture.sealPending();
      return this.d.uploader.uploadAll();
    });
  }
}
