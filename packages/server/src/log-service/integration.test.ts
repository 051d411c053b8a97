/**
 * The sequencer and integrator on every backend: checkpoints open with the log's verifier
 * key, consecutive checkpoints are consistent (consistency proofs from stored tiles), every
 * entry's inclusion proof verifies, stored tiles equal the tiles of a tree computed from
 * scratch, a restart resumes from the persisted state, and a tampered state or a key other
 * than the log's is refused.
 */
import { randomBytes } from 'node:crypto';
import Database from 'better-sqlite3';
import pg from 'pg';
import {
  appendEntries,
  consistencyProof,
  decodeLogEntry,
  EMPTY_TREE_STATE,
  encodeLogEntry,
  hashLeaf,
  inclusionProof,
  openCheckpoint,
  TILE_WIDTH,
  verifyConsistency,
  verifyInclusion,
  type BucketId,
  type DeviceId,
  type LogEntry,
  type OrgId as CoreOrgId,
} from '@custos/core';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { OrgId } from '../ids.js';
import { silentLogger } from '../log/logger.js';
import { createTestOrgRow, testLogKey } from '../testing/test-org-row.js';
import { TEST_BACKENDS, type TestBackend } from '../testing/test-stores.js';
import { logVerifierKey } from './checkpoint-signing.js';
import { LogIntegrator } from './integration.js';
import { sequenceEntries } from './sequencing.js';
import { storeTileReader } from './tile-reading.js';

const logKey = testLogKey();

const newOrg = (tb: TestBackend): Promise<OrgId> => createTestOrgRow(tb.stores, 'Log Test');

/** Deletes one stored entry behind the store's back (a lost row), over a connection of its own. */
async function deleteEntry(tb: TestBackend, orgId: OrgId, idx: number): Promise<void> {
  if (tb.config.kind === 'sqlite') {
    const db = new Database(tb.config.path);
    try {
      db.prepare('DELETE FROM log_entries WHERE org_id = ? AND idx = ?').run(orgId, idx);
    } finally {
      db.close();
    }
    return;
  }
  const client = new pg.Client({ connectionString: tb.config.url });
  await client.connect();
  try {
    await client.query('DELETE FROM log_entries WHERE org_id = $1 AND idx = $2', [orgId, idx]);
  } finally {
    await client.end();
  }
}

for (const backend of TEST_BACKENDS) {
  const title = `log integration: ${backend.name}${backend.skip === null ? '' : ` (skipped: ${backend.skip})`}`;
  describe.skipIf(backend.skip !== null)(title, () => {
    let tb: TestBackend;
    beforeAll(async () => {
      tb = await backend.open();
    });
    afterAll(async () => {
      await tb?.dispose();
    });

    const integrator = () =>
      new LogIntegrator({ stores: tb.stores, key: logKey, host: () => 'custos.test', logger: silentLogger });

    it('reads the entries other than relay receipts, with their indexes, leaving receipts in the store', async () => {
      // A store of its own: this test deletes entries, which every other test's integrator would trip on.
      const tb = await backend.open();
      try {
        const orgId = await newOrg(tb);
        const c = { hash: new Uint8Array(32).fill(7), size: 10, time: 1_700_000_000_000 };
        const kinds: LogEntry[] = [
          { type: 'relay-receipt', ...c, actor: 'd1', sender: 'd1' as DeviceId, recipient: 'd2' as DeviceId },
          { type: 'key-event', ...c, actor: 'admin', kind: 'device-enrolled', subject: 'd1' },
          { type: 'relay-receipt', ...c, actor: 'd2', sender: 'd2' as DeviceId, recipient: 'd1' as DeviceId },
          { type: 'disposition', ...c, actor: 'officer', bucket: 'b1' as BucketId, records: 3 },
          {
            type: 'archive-record',
            ...c,
            actor: 'd1',
            org: 'o1' as CoreOrgId,
            device: 'd1' as DeviceId,
            seq: 4,
            bucket: 'b1' as BucketId,
          },
          { type: 'relay-receipt', ...c, actor: 'd1', sender: 'd1' as DeviceId, recipient: 'd3' as DeviceId },
        ];
        const entries = kinds.map((e) => encodeLogEntry(e));
        await tb.stores.withTransaction((tx) => sequenceEntries(tx, orgId, entries));
        const got = await tb.stores.log.entriesOtherThanReceipts(orgId, 0, entries.length);
        expect(got.map((g) => g.index)).toEqual([1, 3, 4]);
        expect(got.map((g) => decodeLogEntry(g.entry).type)).toEqual([
          'key-event',
          'disposition',
          'archive-record',
        ]);
        for (const g of got) expect(Buffer.from(g.entry).equals(Buffer.from(entries[g.index]!))).toBe(true);
        // The range bounds hold, and a range of receipts only is empty.
        expect((await tb.stores.log.entriesOtherThanReceipts(orgId, 2, 4)).map((g) => g.index)).toEqual([3]);
        expect(await tb.stores.log.entriesOtherThanReceipts(orgId, 5, 6)).toEqual([]);
        // A lost entry, receipt or not, is refused rather than skipped (as by `entries`).
        await deleteEntry(tb, orgId, 2);
        await expect(tb.stores.log.entriesOtherThanReceipts(orgId, 0, entries.length)).rejects.toThrow(
          'log entry 2 is missing',
        );
        await deleteEntry(tb, orgId, 5);
        await expect(tb.stores.log.entriesOtherThanReceipts(orgId, 3, 6)).rejects.toThrow(
          'log entry 5 is missing',
        );
      } finally {
        await tb.dispose();
      }
    });

    it('signs consistent checkpoints over batches crossing tile boundaries; proofs and tiles match core', async () => {
      const orgId = await newOrg(tb);
      const all: Uint8Array[] = [];
      const notes: string[] = [];
      for (const n of [1, 2, 253, 7, 300, 1, 600]) {
        const entries = Array.from({ length: n }, () => randomBytes(40 + (all.length % 50)));
        const first = await tb.stores.withTransaction((tx) => sequenceEntries(tx, orgId, entries));
        expect(first).toBe(all.length);
        all.push(...entries);
        // A fresh integrator each round: it resumes from the persisted state only.
        const [out] = await integrator().integrateAll();
        expect(out?.toSize).toBe(all.length);
        notes.push(out!.checkpoint);
      }
      const origin = `custos.test/${orgId}`;
      const vkey = logVerifierKey(origin, logKey);
      expect((await tb.stores.log.tree(orgId))?.verifierKey).toBe(vkey);
      const opened = notes.map((n) => openCheckpoint(n, [vkey], origin).checkpoint);
      const reader = storeTileReader(tb.stores.log, orgId);
      for (let i = 1; i < opened.length; i++) {
        const a = opened[i - 1]!;
        const b = opened[i]!;
        const proof = await consistencyProof(a.treeSize, b.treeSize, reader);
        verifyConsistency(a.treeSize, b.treeSize, proof, a.rootHash, b.rootHash);
      }
      const last = opened[opened.length - 1]!;
      const expected = appendEntries(EMPTY_TREE_STATE, all);
      expect(Buffer.from(last.rootHash)).toEqual(Buffer.from(expected.root));
      for (const i of [0, 1, 255, 256, 700, all.length - 1]) {
        verifyInclusion(
          hashLeaf(all[i]!),
          i,
          last.treeSize,
          await inclusionProof(i, last.treeSize, reader),
          last.rootHash,
        );
      }
      // Level-0 tiles are the leaf hashes; the level-1 tiles hold the 256-leaf subtree roots.
      const tiles = await tb.stores.log.tiles(orgId, [
        { level: 0, index: 0 },
        { level: 0, index: 4 },
        { level: 1, index: 0 },
      ]);
      const leaf = (i: number) => Buffer.from(hashLeaf(all[i]!));
      expect(tiles[0]!.hashes.length).toBe(TILE_WIDTH * 32);
      expect(tiles[0]!.hashes.subarray(0, 32)).toEqual(leaf(0));
      expect(tiles[1]!.hashes.length).toBe((all.length - 4 * TILE_WIDTH) * 32);
      expect(tiles[2]!.hashes.length).toBe(Math.floor(all.length / TILE_WIDTH) * 32);
      const sub0 = appendEntries(EMPTY_TREE_STATE, all.slice(0, TILE_WIDTH)).root;
      expect(tiles[2]!.hashes.subarray(0, 32)).toEqual(Buffer.from(sub0));
      // Nothing new: no checkpoint is signed.
      expect(await integrator().integrateAll()).toEqual([]);
    });

    it('refuses to sign when the stored tree state is not the last signed checkpoint', async () => {
      const orgId = await newOrg(tb);
      await tb.stores.withTransaction((tx) => sequenceEntries(tx, orgId, [randomBytes(10)]));
      await integrator().integrateAll();
      const before = await tb.stores.log.latestCheckpoint(orgId);
      // Tamper: rewrite the root so it no longer matches the frontier and the checkpoint.
      const tree = (await tb.stores.log.tree(orgId))!;
      await tb.stores.log.advanceTree(orgId, tree.size, tree.size, tree.frontier, randomBytes(32));
      await tb.stores.withTransaction((tx) => sequenceEntries(tx, orgId, [randomBytes(10)]));
      await integrator().integrateAll();
      expect(await tb.stores.log.latestCheckpoint(orgId)).toEqual(before);
    });

    it('leaves a log alone when its own key is not the one the log was created with', async () => {
      const orgId = await newOrg(tb);
      await tb.stores.withTransaction((tx) => sequenceEntries(tx, orgId, [randomBytes(10)]));
      await integrator().integrateAll();
      const before = await tb.stores.log.latestCheckpoint(orgId);
      await tb.stores.withTransaction((tx) => sequenceEntries(tx, orgId, [randomBytes(10)]));
      // Another API node on the same database with its own key file: it signs nothing.
      const otherNode = new LogIntegrator({
        stores: tb.stores,
        key: testLogKey(),
        host: () => 'custos.test',
        logger: silentLogger,
      });
      expect(await otherNode.integrateOrg(orgId).catch((e: unknown) => e)).toMatchObject({
        name: 'LogIntegrityError',
        message: "this node's log-signing key is not the key the log was created with",
      });
      expect(await tb.stores.log.latestCheckpoint(orgId)).toEqual(before);
      // The node with the log's key integrates it.
      const [out] = (await integrator().integrateAll()).filter((o) => o.orgId === orgId);
      expect(out?.toSize).toBe(2);
    });

    it('answers LOG_PUSHBACK when the backlog is full, and sequences nothing', async () => {
      const orgId = await newOrg(tb);
      await tb.stores.withTransaction((tx) =>
        sequenceEntries(tx, orgId, [randomBytes(10), randomBytes(10)], 3),
      );
      await expect(
        tb.stores.withTransaction((tx) => sequenceEntries(tx, orgId, [randomBytes(10), randomBytes(10)], 3)),
      ).rejects.toMatchObject({ code: 'LOG_PUSHBACK', statusCode: 503 });
      expect((await tb.stores.log.backlog(orgId)).nextIndex).toBe(2);
    });
  });
}
