/**
 * `custos archive status`: what this device holds for the organisation's archive — records
 * queued (captured, not yet proven), the last verified receipt and checkpoint, and bucket
 * keys refused because they did not verify. Read from the profile only (works offline);
 * `custos sync` uploads and verifies.
 */
import { GAP_PROOF_OVERDUE_MS } from '@custos/client';
import type { CliIo } from '../cli.js';
import { UsageError } from '../command-flags.js';
import {
  elapsedText,
  overdueBatches,
  overdueBatchText,
  overdueGaps,
  overdueGapText,
  recordsText,
} from '../awaiting-proof-text.js';
import { runCommand, type CommandContext } from '../command-runner.js';
import { PROFILE_FLAGS, PROFILE_OPTIONS_HELP, withProfile } from '../profile-access.js';

const USAGE = `Usage: custos archive status [--profile DIR] [--passphrase-file FILE] [--json]

Shows this device's archive state: whether archiving is required (or that the
organisation does not archive: archive policy none), records in the queue (captured but
not yet proven in the log), records uploaded, verified receipts, the last receipt and the
last checkpoint verified, any bucket keys refused, record batches the server acknowledged
that are awaiting proof or overdue (a sync found their log entries still missing
${elapsedText(GAP_PROOF_OVERDUE_MS)} or more later: it may be withholding them), and runs of records declared lost:
proven in the log, awaiting proof, or overdue (the server accepted the declaration but a
sync found its log entry still missing ${elapsedText(GAP_PROOF_OVERDUE_MS)} or more later). 'custos sync' uploads the
queue and verifies receipts.

${PROFILE_OPTIONS_HELP}`;

async function status(ctx: CommandContext): Promise<void> {
  const [sub] = ctx.positionals;
  if (sub !== 'status')
    throw new UsageError(
      sub === undefined ? 'a subcommand is needed: status' : `unknown subcommand '${sub}'; available: status`,
    );
  await withProfile(ctx, async (client) => {
    const s = client.archiveStatus();
    const org = client.profile.orgName;
    if (!s.required) {
      ctx.result(
        [
          `Archiving: none — ${org} does not archive (its signed archive policy is none).`,
          'This device captures no archive records and uploads nothing.',
          'Conversations with users of archiving organisations are still archived by those organisations (custos sync and custos chat show their archive notice).',
        ],
        s,
      );
      return;
    }
    const overdue = overdueGaps(s.gapsAwaitingProof);
    const awaiting = s.gapsAwaitingProof.filter((g) => !g.overdue);
    const overdueUploads = overdueBatches(s.batchesAwaitingProof);
    const uploads = s.batchesAwaitingProof.filter((b) => !b.overdue);
    ctx.result(
      [
        `Archiving: ${s.required ? `required by ${org}` : 'not required'}, retention class ${client.profile.retentionClass}`,
        `Queue: ${s.queued} record(s) captured and not yet proven; next sequence number ${s.nextSeq}`,
        `Uploaded through: ${s.uploadedThrough < 0 ? 'nothing yet' : `record ${s.uploadedThrough}`}`,
        `Verified receipts: ${s.receipts}${s.lastReceiptSeq === undefined ? '' : ` (last: record ${s.lastReceiptSeq})`}`,
        ...(uploads.length === 0
          ? []
          : [
              `Uploaded, awaiting proof: ${uploads.length} batch(es), ${recordsText(uploads[0]!.firstSeq, uploads.at(-1)!.lastSeq)} — the server acknowledged them; the records stay in the queue until their log entries are proven ('custos sync')`,
            ]),
        ...overdueUploads.map(
          (b) =>
            `Upload overdue: ${overdueBatchText(b)} — the records stay in the queue until their log entries are proven ('custos sync' checks again); tell your records officer`,
        ),
        `Last verified checkpoint: ${s.lastVerifiedTreeSize === undefined ? 'none yet' : `tree size ${s.lastVerifiedTreeSize}`}`,
        s.refusedBuckets.length === 0
          ? 'Refused bucket keys: none'
          : `Refused bucket keys: ${s.refusedBuckets.map((b) => `${b.bucketId} (${b.reason})`).join('; ')} — tell your records officer`,
        s.declaredGaps.length === 0
          ? 'Declared lost: none'
          : `Declared lost: ${s.declaredGaps.map((g) => `${recordsText(g.firstSeq, g.lastSeq)} (${g.reason}, log ${g.logIndex})`).join('; ')} — ${[...new Set(s.declaredGaps.map((g) => GAP_REASON_TEXT[g.reason] ?? g.reason))].join('; ')}; your records officer sees this`,
        ...(awaiting.length === 0
          ? []
          : [
              `Declared, awaiting proof: ${awaiting.map((g) => `${recordsText(g.firstSeq, g.lastSeq)} (${g.reason}, log ${g.logIndex})`).join('; ')} — the server accepted the declaration; the records stay in the queue until its log entry is proven ('custos sync')`,
            ]),
        ...overdue.map(
          (g) =>
            `Declaration overdue: ${overdueGapText(g)} — the records stay in the queue until its log entry is proven ('custos sync' checks again); tell your records officer`,
        ),
        ...s.disposedBuckets.map(
          (d) =>
            `Disposed bucket: ${d.bucketId} (plan ${d.planId}, ${new Date(d.disposedAt).toISOString()}) — its keys are destroyed: this device no longer seals to it, and declares records already sealed to it lost (check this device's clock)`,
        ),
        ...(s.undeclaredDisposed === undefined
          ? []
          : [
              `Not yet declared: ${recordsText(s.undeclaredDisposed.firstSeq, s.undeclaredDisposed.lastSeq)} sealed to a disposed bucket — nothing after them uploads until the server accepts their declaration (the next upload sends it)`,
            ]),
      ],
      s,
    );
  });
}

/** What each gap reason (core GAP_REASONS) means, as `archive status` explains a declared run. */
const GAP_REASON_TEXT: Readonly<Record<string, string>> = {
  'server-restored': 'the server lost them after acknowledging them',
  'device-lost': 'this device lost them before they were archived',
  'bucket-disposed':
    'sealed to a disposed bucket: its keys were destroyed before they were archived, and their retention had ended',
};

/** Runs `custos archive …`. */
export function runArchive(args: readonly string[], io: CliIo): Promise<number> {
  return runCommand(
    { name: 'archive', usage: USAGE, flags: PROFILE_FLAGS, maxPositionals: 1 },
    args,
    io,
    status,
  );
}
