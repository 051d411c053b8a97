/**
 * A client's archive work, each step in its operation queue: sealing what sends and
 * receipts captured (soon after them, in the background; archive/pending-records.ts),
 * keeping the archive material current (archive/archive-material.ts), upload and proofs,
 * and — while the client is connected — uploading on its own (archive-autoflush.ts).
 */
import {
  archiveMaterialDue,
  refreshArchiveMaterial,
  type ArchiveMaterialRefresh,
} from '../archive/archive-material.js';
import { refreshIndexKeys } from '../archive/bucket-keys.js';
import { notUploadedRun, type ArchiveHandIn } from '../archive/hand-in.js';
import { uploadedThrough } from '../archive/uploader.js';
import type { ArchiveCapture } from '../archive/capture.js';
import { verifyArchiveProofs, type ProofRound } from '../archive/proofs.js';
import type { ArchiveUploader } from '../archive/uploader.js';
import type { DeviceProfile } from '../profile.js';
import type { LocalStore } from '../store/local-store.js';
import { loadLocalIdentity } from '../store/signal-stores.js';
import type { ApiClient } from '../transport/api-client.js';
import { ArchiveAutoFlush, type FlushRoundResult } from './archive-autoflush.js';
import type { Operations } from './operations.js';

/**
 * After asking the server for missing index keys failed (unreachable, refused), sealing asks
 * again only after this long: an unreachable server must not add a timeout to every seal.
 */
export const INDEX_KEY_RETRY_MS = 30_000;

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
  /** Background schedule tuning (tests). */
  readonly autoFlush?: { readonly idleMs?: number; readonly pollMs?: number };
}

/** One client's archive steps. */
export class ArchiveWork {
  #sealQueued = false;
  readonly #auto: ArchiveAutoFlush;
  /** Until when asking for missing index keys is paused after a failed ask. */
  #indexKeyPausedUntil = 0;

  constructor(private readonly d: ArchiveWorkDeps) {
    this.#auto = new ArchiveAutoFlush({
      round: () => this.#round(),
      queued: () => (d.store.closed ? 0 : d.store.count('archive-queue')),
      ...d.autoFlush,
    });
    // Every capture, whatever its path (send, socket, receipt, group change), is seen here.
    d.capture.onCapture = () => this.captured();
  }

  /**
   * A record was captured (called inside the capturing transaction): seals it in the
   * background, in the queue after the running operation, and arms the background upload.
   */
  captured(): void {
    this.#auto.captured();
    if (this.#sealQueued) return;
    this.#sealQueued = true;
    setImmediate(() => {
      this.#sealQueued = false;
      if (!this.d.store.closed) void this.seal().catch(() => undefined);
    });
  }

  /** Starts uploading in the background (a client that stays open). */
  startBackground(): void {
    this.#auto.start();
  }

  /** Stops the background upload; resolves once a running round finished. */
  stopBackground(): Promise<void> {
    return this.#auto.stop();
  }

  /** Stops the background upload at once (a simulated crash). */
  abandonBackground(): void {
    this.#auto.abandon();
  }

  /** One background round: seal, one upload attempt, proofs. */
  #round(): Promise<FlushRoundResult> {
    return this.d.ops().serial(async () => {
      const { store, uploader, api } = this.d;
      if (store.closed) return { queued: 0, progressed: false };
      await this.#sealPending();
      await uploader.resume();
      const uploaded = await uploader.uploadAll(1);
      const proofs = await verifyArchiveProofs(api, store, this.d.profile(), this.d.clock());
      return { queued: store.count('archive-queue'), progressed: uploaded + proofs.verified > 0 };
    });
  }

  /** Seals the records captured since the last seal. */
  seal(): Promise<number> {
    return this.d.ops().serial(() => this.#sealPending());
  }

  /**
   * Seals the pending records, first fetching the index keys sealed to this device when a
   * pending record's bucket has none here: an officer may have granted it since the last
   * refresh, and without this the first records after `custos console grant-index-keys`
   * carried no blind tokens and search missed them. While a key is missing every seal batch
   * asks (one small GET; batches coalesce the captures of an operation), so no record sealed
   * after the grant is stored can miss it. Never fails for that: if the server cannot be
   * reached the records are sealed without tokens, as before a grant (docs/client.md §6),
   * and asking pauses for INDEX_KEY_RETRY_MS.
   */
  async #sealPending(): Promise<number> {
    const { capture, store, clock } = this.d;
    if (clock() >= this.#indexKeyPausedUntil && capture.pendingBucketsWithoutIndexKey().length > 0) {
      const identity = loadLocalIdentity(store).privateKey;
      try {
        await refreshIndexKeys(this.d.api, store, this.d.profile(), identity);
      } catch {
        this.#indexKeyPausedUntil = clock() + INDEX_KEY_RETRY_MS;
      }
    }
    return capture.sealPending();
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
      await this.#sealPending();
      await this.d.uploader.resume();
      const uploaded = await this.d.uploader.uploadAll();
      const proofs = await verifyArchiveProofs(this.d.api, this.d.store, this.d.profile(), this.d.clock());
      return { uploaded, proofs };
    });
  }

  /**
   * Seals and uploads everything it can, and never fails: resolves to the records the server
   * acknowledged, those still not uploaded, and the error that stopped the upload (a revoked
   * device past its hand-in window, the network). For a device about to retire, or one
   * revoked by someone else handing in what it sealed before (archive/hand-in.ts).
   */
  handIn(): Promise<ArchiveHandIn> {
    return this.d.ops().serial(async () => {
      const { store, uploader } = this.d;
      const before = uploadedThrough(store);
      let error: unknown;
      try {
        await this.#sealPending();
        await uploader.resume();
        await uploader.uploadAll();
      } catch (e) {
        error = e;
      }
      // Counted from the acknowledged position: uploadAll's own count is lost when it fails
      // part way, and a resume may rewind the position (records the server lost) or jump it
      // (a declared run).
      const uploaded = Math.max(0, uploadedThrough(store) - before);
      const notUploaded = notUploadedRun(store);
      return { uploaded, notUploaded, ...(error === undefined ? {} : { error }) };
    });
  }

  /** Seals and uploads only (no proof check). */
  upload(): Promise<number> {
    return this.d.ops().serial(async () => {
      await this.#sealPending();
      return this.d.uploader.uploadAll();
    });
  }
}
