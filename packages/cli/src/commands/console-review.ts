/** `custos console review next|decide|note|sample-rate`: supervision review of queued records (FINRA 3110). */
import {
  decideReviewItem,
  nextReviewItem,
  openReviewNote,
  getSampleRate,
  setSampleRate,
  REVIEW_DECISIONS,
  type ReviewDecision,
  type VerifiedHit,
} from '@custos/console';
import type { CliIo } from '../cli.js';
import { formatAddress } from '../address-book.js';
import { fullId, optionalString, requireString, UsageError, type ParsedFlags } from '../command-flags.js';
import { runSubcommands, type Subcommand } from '../command-runner.js';
import { OFFICER_FLAGS, OFFICER_OPTIONS_HELP, withOfficerSession } from './console-officer.js';
import { handedInMark } from './console-search.js';
import { peerText } from '../terminal-text.js';

/** ` --profile DIR` when the command was given one, so the printed next command runs as it stands. */
function profileHint(flags: ParsedFlags): string {
  const dir = optionalString(flags, 'profile');
  if (dir === undefined) return '';
  return ` --profile ${/^[\w@%+=:,./-]+$/.test(dir) ? dir : `'${dir.replaceAll("'", "'\\''")}'`}`;
}

const USAGE = `Usage: custos console review next [--context N] --profile DIR
       custos console review decide ITEM --decision cleared|escalated|violation --note TEXT
                                 --profile DIR
       custos console review note ITEM --profile DIR
       custos console review sample-rate [PERCENT] --profile DIR
       (each also takes --passphrase-file FILE and --json)

Supervision review (FINRA 3110). New archived records that match a lexicon rule
('custos console lexicon'), and a random sample of the others, wait in the review queue.

  next                    opens the oldest waiting item: the record, verified (hash, bucket key,
                          device signature, inclusion proof in the signed log), with N records of
                          its conversation before and after it (--context, default 3, 0 for none)
  decide ITEM             records your decision on ITEM in the org's log: reviewer, item, time and
                          decision; the note is sealed to the record's bucket key (the server keeps
                          only the sealed bytes and their hash). A decision is final.
  note ITEM               opens the note of a decided item
  sample-rate             shows the random sampling rate, or sets it to PERCENT (0–100, e.g. 2.5)
${OFFICER_OPTIONS_HELP}
See docs/officers.md "Daily review".
`;

const FLAGS = { ...OFFICER_FLAGS, context: 'string', decision: 'string', note: 'string' } as const;

function address(recordId: string): string {
  const dot = recordId.indexOf('.');
  return dot <= 0
    ? recordId
    : formatAddress({ orgId: recordId.slice(0, dot), userId: recordId.slice(dot + 1) });
}

function line(h: VerifiedHit, mark: string): string {
  const b = h.body;
  const what =
    b.kind === 'message'
      ? (b.text ?? '')
      : b.kind === 'edit'
        ? `(edit of ${b.edits ?? '?'}) ${b.text ?? ''}`
        : b.kind === 'delete'
          ? `(deleted ${b.deletes ?? '?'})`
          : b.kind === 'reaction'
            ? `(reaction ${b.reaction ?? ''} to ${b.reactsTo ?? '?'})`
            : `(${b.kind})`;
  const when = new Date(b.sentAt).toISOString().replace('T', ' ').slice(0, 19);
  return `${mark} ${when}Z  ${address(b.sender)}: ${peerText(what)}`;
}

function hitJson(h: VerifiedHit) {
  const b = h.body;
  return {
    conversationId: b.conversationId,
    messageId: b.messageId,
    kind: b.kind,
    sender: address(b.sender),
    sentAt: b.sentAt,
    ...(b.text === undefined ? {} : { text: b.text }),
    deviceId: h.header.device,
    seq: h.header.seq,
    logIndex: h.log.index,
    recordHash: Buffer.from(h.hash).toString('hex'),
    signature: h.signature,
    proof: 'verified',
    handedInAfterRevocation: h.afterRevocation ?? null,
  };
}

function percentToPpm(text: string): number {
  if (!/^(100(\.0+)?|[0-9]{1,2}(\.[0-9]{1,4})?)$/.test(text))
    throw new UsageError('PERCENT must be a number from 0 to 100 (at most 4 decimals)');
  return Math.round(Number(text) * 10_000);
}

const SUBCOMMANDS: Record<string, Subcommand> = {
  next: {
    max: 0,
    async run(ctx) {
      const c = optionalString(ctx.flags, 'context');
      if (c !== undefined && !/^(0|[1-9][0-9]?)$/.test(c)) throw new UsageError('--context must be 0–99');
      const r = await withOfficerSession(ctx, (s) =>
        nextReviewItem(s, c === undefined ? {} : { context: Number(c) }),
      );
      if (r.item === null) {
        ctx.result('The review queue is empty.', { item: null, open: r.open });
        return 0;
      }
      const i = r.item;
      const why = [
        ...i.rules.map((x) => `lexicon rule ${x.name || x.ruleId} (${x.ruleId})`),
        ...(i.sampled ? ['random sample'] : []),
      ].join(', ');
      const rec = r.record;
      const lines = [
        `Review item ${i.itemId} (${r.open} waiting): ${why}`,
        `Record ${rec.header.device}#${rec.header.seq}, log index ${rec.log.index}: signature ${rec.signature}, proof verified${handedInMark(rec)}`,
        `Conversation ${rec.body.conversationId}:`,
        ...r.before.map((h) => line(h, ' ')),
        line(rec, '>'),
        ...r.after.map((h) => line(h, ' ')),
        `Decide: custos console review decide ${i.itemId} --decision ${REVIEW_DECISIONS.join('|')} --note TEXT${profileHint(ctx.flags)}`,
      ];
      ctx.result(lines, {
        item: i,
        open: r.open,
        record: hitJson(rec),
        before: r.before.map(hitJson),
        after: r.after.map(hitJson),
      });
      return 0;
    },
  },
  decide: {
    max: 1,
    async run(ctx) {
      const itemId = ctx.positionals[0];
      if (itemId === undefined) throw new UsageError('give the ITEM to decide');
      fullId(itemId, 'ITEM', "as 'custos console review next' shows it");
      const decision = requireString(ctx.flags, 'decision');
      if (!(REVIEW_DECISIONS as readonly string[]).includes(decision))
        throw new UsageError(`--decision must be one of ${REVIEW_DECISIONS.join(', ')}`);
      const note = requireString(ctx.flags, 'note');
      if (note.trim() === '') throw new UsageError('--note must not be empty');
      const r = await withOfficerSession(ctx, (s) =>
        decideReviewItem(s, itemId, decision as ReviewDecision, note),
      );
      ctx.result(
        `Item ${r.itemId}: ${r.decision}, recorded at ${new Date(r.decidedAt).toISOString()} (note sealed, SHA-256 ${r.noteHash}).`,
        r,
      );
      return 0;
    },
  },
  note: {
    max: 1,
    async run(ctx) {
      const itemId = ctx.positionals[0];
      if (itemId === undefined) throw new UsageError('give the ITEM whose note to open');
      fullId(itemId, 'ITEM', "as 'custos console review next' shows it");
      const r = await withOfficerSession(ctx, (s) => openReviewNote(s, itemId));
      ctx.result([`Item ${itemId}: ${r.decision}`, r.note], { itemId, ...r });
      return 0;
    },
  },
  'sample-rate': {
    max: 1,
    async run(ctx) {
      const p = ctx.positionals[0];
      const ppm = p === undefined ? undefined : percentToPpm(p);
      const r = await withOfficerSession(ctx, (s) =>
        ppm === undefined ? getSampleRate(s) : setSampleRate(s, ppm),
      );
      ctx.result(
        `Random sampling: ${r.ppm / 10_000} % of new records${r.isDefault ? ' (the default)' : ''}.`,
        { percent: r.ppm / 10_000, ppm: r.ppm, isDefault: r.isDefault },
      );
      return 0;
    },
  },
};

/** Runs `custos console review …`. */
export function runConsoleReview(args: readonly string[], io: CliIo): Promise<number> {
  return runSubcommands({ name: 'console review', usage: USAGE, flags: FLAGS }, SUBCOMMANDS, args, io);
}
