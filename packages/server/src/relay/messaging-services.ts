/**
 * The messaging services of one API node (relay, wake-up hub, prekey fetch limiter,
 * settings), created once at start-up and shared by the HTTP routes and the WebSocket.
 */
import {
  DEFAULT_BLOB_QUOTA_BYTES,
  PREKEY_FETCH_BURST,
  PREKEY_FETCH_PER_SECOND,
  PREKEY_LOW_THRESHOLD,
  RELAY_EXPIRY_SWEEP_INTERVAL_MS,
  RELAY_SEND_KEY_RETENTION_MS,
  RELAY_MAX_MESSAGE_BYTES,
  RELAY_MAX_QUEUE_BYTES,
  RELAY_MAX_QUEUE_ENVELOPES,
  RELAY_QUEUE_TTL_MS,
  WS_SEND_BURST,
  WS_SEND_PER_SECOND,
} from '../config/messaging-defaults.js';
import { sweepBlobs } from '../blobs/blob-service.js';
import { RATE_LIMIT_MAX_BUCKETS } from '../config/defaults.js';
import { RateLimiter, type RateLimitSettings } from '../http/rate-limit.js';
import type { AppDeps } from '../http/route-def.js';
import { sequenceEntries } from '../log-service/sequencing.js';
import type { Logger } from '../log/logger.js';
import type { Stores } from '../store/stores.js';
import { OrgArchivePolicies } from '../orgs/archive-policies.js';
import type { ArchivePolicy, ReceiptSequencer } from './receipts.js';
import { RelayHub } from './relay-hub.js';
import { RelayService, type RelayLimits } from './relay-service.js';

/** Tunable settings of the messaging services. */
export interface MessagingSettings {
  readonly blobQuotaBytes: number;
  /**
   * Whether the expiry sweeps include the blob sweep (blob-service.ts sweepBlobs). Off unless
   * the operator turns it on: devices keep no copy of the attachments they fetch, so a swept
   * blob is gone from every conversation history that shows it, archived or not.
   */
  readonly blobSweep: boolean;
  readonly prekeyLowThreshold: number;
  readonly prekeyFetch: RateLimitSettings;
  readonly wsSend: RateLimitSettings;
  readonly relay: RelayLimits;
}

/**
 * Most relay jobs committed in one transaction. A batch's envelopes land in random devices'
 * queues, so its commit rewrites a page of the per-device queue index per device it touches:
 * up to the whole index (≈ 300 WAL frames per commit measured at 512 jobs under load).
 * Larger batches spread that over more messages; the batch size only grows when jobs queue
 * up behind a running commit, so it costs latency only under a backlog.
 */
export const RELAY_MAX_BATCH = 2048;

/** The defaults of docs/operations.md. */
export const DEFAULT_MESSAGING_SETTINGS: MessagingSettings = Object.freeze({
  blobQuotaBytes: DEFAULT_BLOB_QUOTA_BYTES,
  blobSweep: false,
  prekeyLowThreshold: PREKEY_LOW_THRESHOLD,
  prekeyFetch: {
    burst: PREKEY_FETCH_BURST,
    perSecond: PREKEY_FETCH_PER_SECOND,
    maxKeys: RATE_LIMIT_MAX_BUCKETS,
  },
  wsSend: { burst: WS_SEND_BURST, perSecond: WS_SEND_PER_SECOND, maxKeys: RATE_LIMIT_MAX_BUCKETS },
  relay: {
    maxMessageBytes: RELAY_MAX_MESSAGE_BYTES,
    maxQueueEnvelopes: RELAY_MAX_QUEUE_ENVELOPES,
    maxQueueBytes: RELAY_MAX_QUEUE_BYTES,
    queueTtlMs: RELAY_QUEUE_TTL_MS,
    maxBatch: RELAY_MAX_BATCH,
  },
});

/** The services. */
export interface MessagingServices {
  readonly relay: RelayService;
  readonly hub: RelayHub;
  readonly settings: MessagingSettings;
  /** Bundle fetches per requesting device (harvesting drains one-time keys). */
  readonly prekeyFetches: RateLimiter;
  /** Starts the expiry sweeps of envelopes, send keys and blobs (the server calls this; tests need not). */
  startSweeps(logger: Logger): void;
  /** Stops the sweep and waits for accepted relay writes to commit. */
  close(): Promise<void>;
}

/** What to build the services from. */
export interface MessagingOptions {
  readonly stores: Stores;
  readonly clock: () => number;
  readonly receipts?: ReceiptSequencer;
  readonly archives?: ArchivePolicy;
  readonly settings?: Partial<MessagingSettings>;
}

/**
 * Whether relay batches may be pipelined on these stores: only on SQLite, whose one
 * connection runs transactions in order. On PostgreSQL two batches on two connections could
 * commit out of order, and a socket could see a later envelope before an earlier one.
 */
function pipelinable(stores: Stores): boolean {
  return 'kind' in stores && stores.kind === 'sqlite';
}

/** Creates the messaging services of one API node. */
export function createMessagingServices(o: MessagingOptions): MessagingServices {
  const settings: MessagingSettings = Object.freeze({ ...DEFAULT_MESSAGING_SETTINGS, ...o.settings });
  const hub = new RelayHub();
  const policies = new OrgArchivePolicies();
  const relay = new RelayService({
    stores: o.stores,
    hub,
    receipts: o.receipts ?? ((tx, orgId, entries) => sequenceEntries(tx, orgId, entries)),
    archives: o.archives ?? ((org, tx) => policies.archives(org, tx)),
    clock: o.clock,
    limits: settings.relay,
    pipelineCommits: pipelinable(o.stores),
    sendKeyRetentionMs: RELAY_SEND_KEY_RETENTION_MS,
  });
  let sweep: NodeJS.Timeout | null = null;
  let blobSweep: Promise<void> | null = null;
  return {
    relay,
    hub,
    settings,
    prekeyFetches: new RateLimiter(settings.prekeyFetch, o.clock),
    startSweeps(logger) {
      sweep ??= setInterval(() => {
        relay.sweepExpired().then(
          (count) => {
            if (count > 0) logger.info('relay-expired', { count });
          },
          () => logger.warn('relay-expiry-sweep-failed'),
        );
        // Send keys past their retention: a repeat that late is stored as a new send (whose
        // ciphertext the recipient's libsignal refuses as a duplicate).
        relay.pruneSendKeys().catch(() => logger.warn('relay-send-key-prune-failed'));
        // Blobs no archive record lists, once every recipient had its chance to fetch them.
        // One at a time: a sweep still running when the next is due lets it pass.
        if (settings.blobSweep)
          blobSweep ??= sweepBlobs(o.stores, o.clock())
            .then(
              (count) => {
                if (count > 0) logger.info('blobs-swept', { count });
              },
              () => logger.warn('blob-sweep-failed'),
            )
            .finally(() => {
              blobSweep = null;
            });
      }, RELAY_EXPIRY_SWEEP_INTERVAL_MS);
      sweep.unref();
    },
    async close() {
      if (sweep !== null) clearInterval(sweep);
      sweep = null;
      await blobSweep;
      await relay.idle();
    },
  };
}

const defaults = new WeakMap<AppDeps, MessagingServices>();

/**
 * The app's messaging services: `deps.messaging` when the caller built them, else a default
 * set made once per AppDeps (same store, clock and default settings).
 */
export function messagingOf(deps: AppDeps): MessagingServices {
  if (deps.messaging !== undefined) return deps.messaging;
  let m = defaults.get(deps);
  if (m === undefined) {
    m = createMessagingServices({ stores: deps.stores, clock: deps.clock });
    defaults.set(deps, m);
  }
  return m;
}
