/**
 * Export throughput (issue 5 target: RSMF export with opening, signature and proof checks
 * ≥ 5,000 messages/s).
 *
 * "export rsmf": `buildExport` of 5,000 records in memory — custody manifest, every
 * check `custos verify` makes (sealed bytes → SHA-256, header parse, batch signatures of
 * 500 records, log entry → RFC 9162 inclusion proof in a 5,000-leaf tree, checkpoint
 * signature, chains), folding into conversations, one .rsmf per conversation and day with
 * transcript and zip, and the file list. The records were opened beforehand (as the
 * console hands them over); "open + export rsmf" adds the AES-GCM opening of every
 * record with its session key and the derivation of its record key. Both write custody
 * manifest v2 and so include the text binding: every record opened again with its record
 * key and every .rsmf rebuilt from those bodies and compared (docs/exports.md §6 step 7).
 * Baseline: the same records' bodies serialised as plain JSON with no checks.
 */
import { openRecord, openSessionKey, recordKeyOf, type RecordBody, type SessionOpener } from '@custos/core';
import { exportTesting, buildExport, type ExportInput } from '@custos/console';
import type { BenchCase } from '../harness.js';

const N = 5_000;
const BATCH = 500;
const DEVICE = 'alice-phone';

let input: ExportInput;
let opener: SessionOpener;

async function setup(): Promise<void> {
  if (input !== undefined) return;
  const { ALICE, T0 } = exportTesting;
  const events = Array.from({ length: N }, (_, i) => {
    const peer = `acme.peer${i % 20}`;
    const body: RecordBody = exportTesting.body({
      direction: i % 2 === 0 ? 'sent' : 'received',
      messageId: `m${i}`,
      conversationId: `dm.peer${i % 20}`,
      participants: [ALICE, peer],
      sender: i % 2 === 0 ? ALICE : peer,
      sentAt: T0 + i * 60_000,
      text: `Message ${i}: the quarterly figures for the northern region look fine, see the attached note.`,
      ...(i % 10 === 5 ? { replyTo: `m${i - 20}` } : {}),
      envelopeHashes: [new Uint8Array(32).fill(i % 251)],
    });
    return { device: DEVICE, body };
  });
  const archive = await exportTesting.buildTestArchive(events, BATCH);
  input = { ...archive.input, exportId: 'bench' };
  opener = await openSessionKey(archive.bucketKey, archive.sessionKeys.get(DEVICE)!);
}

const baseline = {
  name: 'bodies as plain JSON, no checks',
  run: (): number => {
    let n = 0;
    for (const r of input.records)
      n += JSON.stringify({ ...r.body, attachments: [], envelopeHashes: [] }).length > 0 ? 1 : 0;
    return n;
  },
};

/** The export suite. */
export const cases: BenchCase[] = [
  {
    kind: 'rate',
    name: 'export rsmf (checks included), 5,000 opened records',
    unit: 'messages/s',
    setup,
    samples: 5,
    run: async () => {
      await buildExport(input, { format: 'rsmf' });
      return N;
    },
    baseline,
    target: { min: 5_000 },
  },
  {
    kind: 'rate',
    name: 'open + export rsmf (checks included), 5,000 sealed records',
    unit: 'messages/s',
    setup,
    samples: 5,
    run: async () => {
      const opened = input.records.map((r) => {
        const sealed = Uint8Array.from(r.sealed);
        return { ...r, body: openRecord(opener, sealed).body, recordKey: recordKeyOf(opener, sealed) };
      });
      await buildExport({ ...input, records: opened }, { format: 'rsmf' });
      return N;
    },
    baseline,
    target: { min: 5_000 },
  },
];
