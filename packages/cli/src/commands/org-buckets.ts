/** `custos org buckets`: the bucket keys and their windows, and generating them ahead (docs/officers.md §3). */
import {
  bucketInventory,
  extendStandingCriteria,
  generateBucketsAhead,
  MAX_AHEAD_MONTHS,
  type AheadResult,
  type ExtendedCriteria,
} from '@custos/console';
import type { CliIo } from '../cli.js';
import { optionalString, UsageError } from '../command-flags.js';
import { runCommand } from '../command-runner.js';
import {
  OFFICER_FLAGS,
  OFFICER_OPTIONS_HELP,
  SHARE_FLAGS,
  SHARE_OPTIONS_HELP,
  unlockShares,
  utc,
  withOfficerSession,
} from './console-officer.js';

const USAGE = `Usage: custos org buckets --profile DIR [--ahead MONTHS --shares LIST] [--passphrase-file FILE]
                         [--share-passphrase-file FILE] [--json]

Lists the organisation's bucket keys (each document verified against the org key your
profile pins): retention class, period, window, whether it is past, current or future, and
whether you hold a wrap of its private key (in your profile or on the server).

  --ahead MONTHS          first make sure every retention class has a bucket key for this
                          month and the next MONTHS (0..${MAX_AHEAD_MONTHS}): new keys are signed by the key
                          manager, wrapped to the root and to every officer, and registered.
                          Bucket index keys derive from the org index secret, so this needs a
                          quorum's org-index-secret shares (--shares). Rerunning is safe: it
                          finishes interrupted work and never duplicates a bucket.
${SHARE_OPTIONS_HELP}${OFFICER_OPTIONS_HELP}
See docs/officers.md.
`;

const FLAGS = { ...OFFICER_FLAGS, ...SHARE_FLAGS, ahead: 'string' } as const;

/** Runs `custos org buckets`. */
export function runOrgBuckets(args: readonly string[], io: CliIo): Promise<number> {
  return runCommand(
    { name: 'org buckets', usage: USAGE, flags: FLAGS, maxPositionals: 0 },
    args,
    io,
    async (ctx) => {
      const aheadText = optionalString(ctx.flags, 'ahead');
      if (
        aheadText !== undefined &&
        (!/^[0-9]{1,2}$/.test(aheadText) || Number(aheadText) > MAX_AHEAD_MONTHS)
      )
        throw new UsageError(`--ahead must be an integer from 0 to ${MAX_AHEAD_MONTHS}`);
      if (aheadText === undefined && ctx.flags.has('shares'))
        throw new UsageError('--shares is only used with --ahead');
      if (aheadText !== undefined && !ctx.flags.has('shares'))
        throw new UsageError(
          '--ahead needs --shares: bucket index keys derive from the org index secret, which a quorum holds',
        );
      const now = Date.now();
      const { ahead, criteria, buckets } = await withOfficerSession(ctx, async (session) => {
        let ahead: AheadResult | undefined;
        let criteria: ExtendedCriteria | undefined;
        if (aheadText !== undefined) {
          const root = await unlockShares(ctx, ['org-index-secret']);
          try {
            ahead = await generateBucketsAhead(session, {
              months: Number(aheadText),
              now,
              indexSecret: root.indexSecret!,
              progress: (m) => ctx.note(`custos org buckets: ${m}`),
            });
          } finally {
            root.destroy();
          }
          // Lexicon rules and query/conversation holds cover the new buckets before any device
          // holds their index keys (grant-index-keys), so no tokened record escapes them.
          criteria = await extendStandingCriteria(session, {
            now,
            progress: (m) => ctx.note(`custos org buckets: ${m}`),
          });
        }
        return { ahead, criteria, buckets: await bucketInventory(session, now) };
      });
      const lines: string[] = [];
      if (ahead !== undefined)
        lines.push(
          `Made ${ahead.created.length} bucket key(s)${ahead.resumed.length > 0 ? `, finished ${ahead.resumed.length} interrupted` : ''}; ${ahead.existing.length} already existed.`,
        );
      if (criteria !== undefined) lines.push(...criteriaLines(criteria));
      lines.push(
        `${'BUCKET'.padEnd(22)} ${'CLASS'.padEnd(10)} ${'PERIOD'.padEnd(8)} ${'WINDOW (UTC)'.padEnd(35)} ${'STATE'.padEnd(7)} WRAP     ROOT`,
        ...buckets.map(
          (b) =>
            `${b.bucketId.padEnd(22)} ${b.retentionClass.padEnd(10)} ${b.period.padEnd(8)} ${`${utc(b.notBefore)} – ${utc(b.notAfter)}`.padEnd(35)} ${b.state.padEnd(7)} ${b.officerWrap.padEnd(8)} ${b.rootWrap ? 'yes' : 'NO'}`,
        ),
      );
      ctx.result(lines, {
        buckets,
        ...(ahead === undefined ? {} : { ahead }),
        ...(criteria === undefined ? {} : { criteria }),
      });
      return needsReseal(criteria) ? 1 : 0;
    },
  );
}

/** What extending lexicon rules and holds to new buckets did, for people. */
export function criteriaLines(c: ExtendedCriteria): string[] {
  return [
    ...c.rules.map((r) => `Lexicon rule ${r.ruleId} now covers ${r.buckets.join(', ')}.`),
    ...c.holds.map((h) => `Legal hold ${h.holdId} now covers ${h.buckets.join(', ')}.`),
    ...c.resealed.map(
      (x) =>
        `${x.kind === 'rule' ? 'Lexicon rule' : 'Legal hold'} ${x.id}: re-sealed to officer(s) ${x.to.map((i) => i + 1).join(', ')}.`,
    ),
    ...c.skipped.map((x) => `NOT EXTENDED ${x.id}: ${x.why}.`),
  ];
}

/** Whether some rule or hold could not be extended because it holds no seal for this officer (exit 1). */
export function needsReseal(c: ExtendedCriteria | undefined): boolean {
  return c?.skipped.some((x) => x.reseal === true) === true;
}
