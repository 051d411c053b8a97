/**
 * Integration: the second half of the log lifecycle. Every interval, for each org with
 * sequenced entries beyond its tree, one transaction reads those entries, hashes them
 * into the tree (core appendEntries), writes the changed tiles and the new tree state,
 * signs a checkpoint of the new tree with the install key and stores it.
 *
 * Invariant (why no two checkpoints can be inconsistent): a checkpoint is signed only for
 * a tree that extends the stored tree state by appending, and the stored state is checked,
 * in the same transaction, to be exactly the last signed checkpoint (size and root). The
 * state only advances with a compare-and-set on its size, so two integrators (API nodes on
 * one PostgreSQL, which also take an advisory lock) cannot both extend the same state.
 */
import { appendEntries, EMPTY_ROOT, rootOf, tilesToWriteFrom, treeState } from '@custos/core';
import type { OrgId } from '../ids.js';
import type { Logger } from '../log/logger.js';
import { asBuffer } from '../store/log-stores.js';
import type { Stores } from '../store/stores.js';
import { logOriginFor, logVerifierKey, signLogCheckpoint, type LogKey } from './checkpoint-signing.js';
import { DEFAULT_INTEGRATION_INTERVAL_MS, MAX_ENTRIES_PER_INTEGRATION } from './log-defaults.js';
import { PeriodicPass } from './periodic-pass.js';
import { storeTileReader } from './tile-reading.js';
import { errorCode } from '../log/error-code.js';

/** The stored log contradicts itself; the integrator refuses to sign anything for that org. */
export class LogIntegrityError extends Error {
  override readonly name = 'LogIntegrityError';
}

/** What the integrator needs. */
export interface IntegratorOptions {
  readonly stores: Stores;
  readonly key: LogKey;
  /** The public host that names new logs (origin `<host>/<org id>`); a log keeps its origin for ever. */
  readonly host: () => string;
  readonly logger: Logger;
  readonly clock?: () => number;
  readonly intervalMs?: number;
  readonly maxEntriesPerIntegration?: number;
}

/** One integration: the tree grew from `fromSize` to `toSize` and `checkpoint` was signed. */
export interface IntegrationOutcome {
  readonly orgId: OrgId;
  readonly fromSize: number;
  readonly toSize: number;
  readonly checkpoint: string;
}

const equal = (a: Uint8Array, b: Uint8Array): boolean => Buffer.compare(asBuffer(a), asBuffer(b)) === 0;

/** Integrates sequenced entries into each org's tree and signs checkpoints, on a timer. */
export class LogIntegrator {
  readonly #o: IntegratorOptions;
  readonly #max: number;
  readonly #clock: () => number;
  readonly #runner: PeriodicPass<IntegrationOutcome[]>;

  constructor(options: IntegratorOptions) {
    this.#o = options;
    this.#max = options.maxEntriesPerIntegration ?? MAX_ENTRIES_PER_INTEGRATION;
    this.#clock = options.clock ?? Date.now;
    this.#runner = new PeriodicPass({
      pass: () => this.#integrateAll(),
      intervalMs: options.intervalMs ?? DEFAULT_INTEGRATION_INTERVAL_MS,
      clock: this.#clock,
      onError: (e) => this.#o.logger.error('log-integration-failed', { code: errorCode(e) }),
    });
  }

  /** Starts the timer; the first pass runs at once (resuming whatever a crash left sequenced). */
  start(): void {
    this.#runner.start();
  }

  /** Stops the timer and waits for a running pass to commit. */
  stop(): Promise<void> {
    return this.#runner.stop();
  }

  /** One pass over every org with a backlog; passes never overlap. */
  integrateAll(): Promise<IntegrationOutcome[]> {
    return this.#runner.run();
  }

  async #integrateAll(): Promise<IntegrationOutcome[]> {
    const out: IntegrationOutcome[] = [];
    for (const b of await this.#o.stores.log.backlogs()) {
      try {
        const r = await this.integrateOrg(b.orgId);
        if (r !== null) out.push(r);
      } catch (e) {
        const code = e instanceof LogIntegrityError ? 'integrity' : 'error';
        this.#o.logger.error('log-integration-failed', { orgId: b.orgId, code });
        if (!(e instanceof LogIntegrityError)) throw e;
      }
    }
    return out;
  }

  /** Integrates the org's backlog (up to the per-pass maximum) in one transaction; null when none or locked elsewhere. */
  async integrateOrg(orgId: OrgId): Promise<IntegrationOutcome | null> {
    const { key } = this.#o;
    return this.#o.stores.withTransaction(async (tx) => {
      if (!(await tx.log.tryLockIntegration(orgId))) return null;
      let tree = await tx.log.tree(orgId);
      if (tree === undefined) {
        const origin = logOriginFor(this.#o.host(), orgId);
        await tx.log.createTree(orgId, origin, logVerifierKey(origin, key), EMPTY_ROOT);
        tree = await tx.log.tree(orgId);
        if (tree === undefined) throw new LogIntegrityError('log tree row vanished');
      }
      // The log's key was fixed when it was created: a checkpoint under another key verifies
      // for no one and would stay stored. An API node started with another key file (several
      // nodes on one PostgreSQL database must share one) leaves the log to a node that has it.
      if (logVerifierKey(tree.origin, key) !== tree.verifierKey) {
        throw new LogIntegrityError("this node's log-signing key is not the key the log was created with");
      }
      const state = treeState(tree.size, tree.frontier);
      if (!equal(rootOf(state), tree.root)) {
        throw new LogIntegrityError('stored frontier does not hash to the stored root');
      }
      // Only extend exactly what was last signed (or the empty tree before any checkpoint).
      const last = await tx.log.latestCheckpoint(orgId);
      if (
        last === undefined ? tree.size !== 0 : last.treeSize !== tree.size || !equal(last.root, tree.root)
      ) {
        throw new LogIntegrityError('stored tree state is not the last signed checkpoint');
      }
      const backlog = await tx.log.backlog(orgId);
      const to = Math.min(backlog.nextIndex, tree.size + this.#max);
      if (to <= tree.size) return null;
      const entries = await tx.log.entries(orgId, tree.size, to);
      const append = appendEntries(state, entries);
      const writes = await tilesToWriteFrom(append, storeTileReader(tx.log, orgId));
      await tx.log.putTiles(
        orgId,
        writes.map((w) => ({ level: w.id.level, index: w.id.index, hashes: asBuffer(w.bytes) })),
      );
      const size = append.state.size;
      if (!(await tx.log.advanceTree(orgId, tree.size, size, append.state.frontier, append.root))) {
        throw new LogIntegrityError('tree state changed under the integrator');
      }
      const checkpoint = signLogCheckpoint(key, tree.origin, size, append.root);
      await tx.log.putCheckpoint(orgId, {
        treeSize: size,
        root: asBuffer(append.root),
        note: checkpoint,
        signedAt: this.#clock(),
      });
      return { orgId, fromSize: tree.size, toSize: size, checkpoint };
    });
  }
}
