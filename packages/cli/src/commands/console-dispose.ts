/** `custos console dispose`: retention disposition of expired buckets (docs/officers.md "Retention and disposition"). */
import { createHash } from 'node:crypto';
import {
  approveDisposition,
  executeDisposition,
  proposeDisposition,
  type DispositionView,
  type WaitingBucket,
} from '@custos/console';
import type { CliIo } from '../cli.js';
import { optionalString, UsageError } from '../command-flags.js';
import { runCommand } from '../command-runner.js';
import { OFFICER_FLAGS, OFFICER_OPTIONS_HELP, withOfficerSession } from './console-officer.js';

const USAGE = `Usage: custos console dispose --dry-run [--as-of DATE] --profile DIR [--json]
       custos console dispose --approve PLAN --profile DIR [--json]
       custos console dispose --execute PLAN --profile DIR [--json]

--dry-run lists the buckets that expired by DATE (default: today; YYYY-MM-DD, UTC end of
day) and are not yet disposed: records to dispose, records kept under a legal hold, leaf
span; and prints the plan id (with no such bucket it says so and makes no plan). A bucket
devices can still seal records to (its month has not ended, plus the server's 7-day
late-upload grace) is never in a plan, whatever DATE says: it is listed as not yet
disposable, with the date from which it can be. Nothing is destroyed. --approve signs
that plan with your officer key (m officers must, each from their own profile). The
server refuses to approve or execute a plan that holds a bucket still accepting records
(BUCKET_STILL_ACCEPTING; nothing changes). --execute, once m officers
approved, deletes the ciphertext and index entries of every unheld record of those buckets
and the keys of buckets left empty, and prints the certificate logged for it. Interrupted,
run --execute again: it resumes.

  --dry-run               make (or show) the plan for --as-of
  --as-of DATE            the date expiry is computed for (with --dry-run)
  --approve PLAN          approve plan PLAN (64 hex digits from --dry-run)
  --execute PLAN          execute plan PLAN to its end
${OFFICER_OPTIONS_HELP}
See docs/officers.md.
`;

const FLAGS = {
  ...OFFICER_FLAGS,
  'dry-run': 'boolean',
  'as-of': 'string',
  approve: 'string',
  execute: 'string',
} as const;

const DAY = /^(\d{4})-(\d{2})-(\d{2})$/;
const DAY_MS = 86_400_000;

/** The last millisecond of the UTC day `text` (YYYY-MM-DD). */
function endOfDay(text: string): number {
  const m = DAY.exec(text);
  const t = m === null ? NaN : Date.UTC(Number(m[1]), Number(m[2]) - 1, Number(m[3]));
  if (!Number.isFinite(t) || new Date(t).toISOString().slice(0, 10) !== text) {
    throw new UsageError('--as-of must be a date YYYY-MM-DD');
  }
  return t + DAY_MS - 1;
}

const day = (ms: number): string => new Date(ms).toISOString().slice(0, 10);

/** Officer numbers as people use them (officers/officer-K, 1-based) for the indexes a plan holds. */
const officerNumbers = (indexes: readonly number[]): string => indexes.map((i) => i + 1).join(', ');

/** The plan as lines for a person. */
export function planLines(v: DispositionView): string[] {
  const lines = [
    `Plan ${v.planId} (as of ${day(v.plan.asOf)}): ${v.state}, approvals ${v.approvedBy.length} of ${v.quorum}` +
      (v.approvedBy.length === 0 ? '' : ` (officers ${officerNumbers(v.approvedBy)})`),
  ];
  if (v.plan.buckets.length === 0) lines.push('No expired bucket is left to dispose.');
  for (const b of v.plan.buckets) {
    const span = b.span === null ? 'no records' : `leaves ${b.span[0]}–${b.span[1]}`;
    lines.push(
      `  ${b.bucketId}  ${b.retentionClass}  expired ${day(b.expiresAt)}  dispose ${b.records}  held ${b.held}  ${span}`,
    );
  }
  return lines;
}

/**
 * The buckets expired by the dry run's date that the server left out of the plan because
 * devices can still seal records to them: destroying their keys now would leave every
 * record that reaches them later unreadable. Their records wait for a later plan.
 */
export function waitingLines(waiting: readonly WaitingBucket[]): string[] {
  if (waiting.length === 0) return [];
  return [
    `Not yet disposable: the server accepts records into ${waiting.length === 1 ? 'this bucket' : 'these buckets'} ` +
      'until the date shown, so it will not destroy their keys before then, whatever --as-of says ' +
      '(a dry run from the next day plans them):',
    ...waiting.map(
      (w) =>
        `  ${w.bucketId}  ${w.retentionClass}  not yet disposable (still accepting records until ` +
        `${day(w.recordsAcceptedUntil)}; disposable from ${day(w.disposableFrom)})`,
    ),
  ];
}

/** JSON form of a plan. */
function planJson(v: DispositionView): Record<string, unknown> {
  return {
    planId: v.planId,
    state: v.state,
    asOf: v.plan.asOf,
    quorum: v.quorum,
    approvedBy: v.approvedBy,
    buckets: v.plan.buckets.map((b) => ({
      bucketId: b.bucketId,
      retentionClass: b.retentionClass,
      period: b.period,
      expiresAt: b.expiresAt,
      records: b.records,
      held: b.held,
      span: b.span,
      leaves: Buffer.from(b.leaves).toString('hex'),
    })),
  };
}

/** Runs `custos console dispose`. */
export function runConsoleDispose(args: readonly string[], io: CliIo): Promise<number> {
  return runCommand(
    { name: 'console dispose', usage: USAGE, flags: FLAGS, maxPositionals: 0 },
    args,
    io,
    async (ctx) => {
      const approve = optionalString(ctx.flags, 'approve');
      const execute = optionalString(ctx.flags, 'execute');
      const dryRun = ctx.flags.get('dry-run') === true;
      if ([dryRun, approve !== undefined, execute !== undefined].filter(Boolean).length !== 1) {
        throw new UsageError('give exactly one of --dry-run, --approve PLAN, --execute PLAN');
      }
      const asOfText = optionalString(ctx.flags, 'as-of');
      if (asOfText !== undefined && !dryRun) throw new UsageError('--as-of goes with --dry-run');
      for (const id of [approve, execute]) {
        if (id !== undefined && !/^[0-9a-f]{64}$/.test(id)) {
          throw new UsageError('a plan id is 64 hex digits, as --dry-run prints it');
        }
      }
      const asOf = asOfText === undefined ? Date.now() : endOfDay(asOfText);
      return withOfficerSession(ctx, async (s) => {
        if (dryRun) {
          const { view: v, notYetDisposable } = await proposeDisposition(s, asOf);
          const waiting = notYetDisposable.map((w) => ({ ...w }));
          if (v === null) {
            // No plan is made: there is nothing to approve or execute.
            const none =
              waiting.length === 0
                ? `Nothing to dispose as of ${day(asOf)}: no expired bucket is left; no plan made.`
                : `Nothing to dispose yet as of ${day(asOf)}: every expired bucket still accepts records; no plan made.`;
            ctx.result([none, ...waitingLines(notYetDisposable)], {
              planId: null,
              state: 'none',
              asOf,
              buckets: [],
              notYetDisposable: waiting,
            });
            return 0;
          }
          const lines = [...planLines(v), ...waitingLines(notYetDisposable)];
          if (v.plan.buckets.length > 0 && v.state === 'proposed') {
            lines.push(
              `Each approving officer runs: custos console dispose --approve ${v.planId} --profile DIR`,
            );
          }
          ctx.result(lines, { ...planJson(v), notYetDisposable: waiting });
          return 0;
        }
        if (approve !== undefined) {
          const v = await approveDisposition(s, approve);
          ctx.result([`Approved as officer ${s.officerIndex + 1}.`, ...planLines(v)], planJson(v));
          return 0;
        }
        const v = await executeDisposition(s, execute!, (p) => {
          const done = p.progress.reduce((n, b) => n + b.disposed, 0);
          ctx.note(`custos console dispose: ${p.state}, ${done} record(s) disposed so far`);
        });
        const c = v.certificate!;
        const lines = [
          `Executed plan ${v.planId}; certificate at log index ${v.certificateLogIndex ?? 'unknown'}, approved by officers ${officerNumbers(v.approvers)}.`,
          ...c.buckets.map(
            (b) =>
              `  ${b.bucketId}: ${b.records} disposed, ${b.held} held, keys ${b.keysDestroyed ? 'destroyed' : 'kept (records remain)'}`,
          ),
          `Deleted this profile's local copies of the destroyed keys' wraps: ${v.forgotten.wraps} officer wrap(s), ${v.forgotten.rootWraps} root wrap(s). Other officers delete theirs by running --execute ${v.planId} once too.`,
        ];
        ctx.result(lines, {
          ...planJson(v),
          certificateLogIndex: v.certificateLogIndex,
          certificateHash: createHash('sha256').update(v.certificateBytes!).digest('hex'),
          approvers: v.approvers,
          buckets: c.buckets,
          forgotten: v.forgotten,
        });
        return 0;
      });
    },
  );
}
