/** `custos console audit`: every officer and admin act in the org's log, each verified against the signed log. */
import { officerAudit, type VerifiedAct } from '@custos/console';
import type { CliIo } from '../cli.js';
import { optionalString, UsageError } from '../command-flags.js';
import { runCommand } from '../command-runner.js';
import { OFFICER_FLAGS, OFFICER_OPTIONS_HELP, withOfficerSession } from './console-officer.js';

const USAGE = `Usage: custos console audit [--since DATE] [--kind KIND[,KIND…]] --profile DIR
         [--passphrase-file FILE] [--json]

Lists every officer and admin act recorded in the organisation's log — role changes,
enrolments, revocations, searches, exports, key acts, holds, dispositions, lexicon rules,
review decisions — oldest first. Each act is verified: its log entry's inclusion proof leads
to a checkpoint signed by the log key your profile pinned, the act's details hash to what the
entry commits to, and the log is consistent with the last checkpoint this profile saw
(kept in audit-log-state.json). Any failure stops the command with exit 1.

  --since DATE            acts on or after this UTC day (YYYY-MM-DD)
  --kind KIND             only these kinds, as listed (e.g. user-role,review-decide,hold)
${OFFICER_OPTIONS_HELP}
See docs/officers.md "Audit".
`;

const FLAGS = { ...OFFICER_FLAGS, since: 'string', kind: 'string' } as const;

function sinceOf(text: string | undefined): number | undefined {
  if (text === undefined) return undefined;
  const m = /^(\d{4})-(\d{2})-(\d{2})$/.exec(text);
  const t = m === null ? NaN : Date.UTC(Number(m[1]), Number(m[2]) - 1, Number(m[3]));
  if (!Number.isFinite(t) || new Date(t).toISOString().slice(0, 10) !== text)
    throw new UsageError('--since must be a date YYYY-MM-DD');
  return t;
}

function kindsOf(text: string | undefined): string[] | undefined {
  if (text === undefined) return undefined;
  const ks = text
    .split(',')
    .map((s) => s.trim())
    .filter((s) => s !== '');
  for (const k of ks) if (!/^[a-z][a-z0-9-]{0,47}$/.test(k)) throw new UsageError(`--kind ${k}: not a kind`);
  return ks.length === 0 ? undefined : ks;
}

function row(a: VerifiedAct): string {
  const when = new Date(a.time).toISOString().replace('T', ' ').slice(0, 19);
  // An officer device's acts name the officer behind them (its officer-bind act).
  const as = a.officerIndex === undefined ? '' : ` [officer ${a.officerIndex + 1}]`;
  return `${String(a.index).padStart(7)}  ${when}Z  ${a.actor.padEnd(22)}  ${a.text}${as}`;
}

/** Runs `custos console audit`. */
export function runConsoleAudit(args: readonly string[], io: CliIo): Promise<number> {
  return runCommand(
    { name: 'console audit', usage: USAGE, flags: FLAGS, maxPositionals: 0 },
    args,
    io,
    async (ctx) => {
      const since = sinceOf(optionalString(ctx.flags, 'since'));
      const kinds = kindsOf(optionalString(ctx.flags, 'kind'));
      const r = await withOfficerSession(ctx, (s) =>
        officerAudit(s, {
          ...(since === undefined ? {} : { since }),
          ...(kinds === undefined ? {} : { kinds }),
          onProgress: (m) => ctx.note(`custos console audit: ${m}`),
        }),
      );
      const seen =
        r.previousTreeSize === undefined
          ? `first run: checkpoint of ${r.treeSize} entries stored in the profile`
          : `consistent with the ${r.previousTreeSize}-entry checkpoint this profile saw before (${r.outcome})`;
      ctx.result(
        [
          `${'index'.padStart(7)}  ${'time (UTC)'.padEnd(20)}  ${'actor'.padEnd(22)}  act`,
          ...r.acts.map(row),
          `${r.acts.length} act(s), each proven in the signed log; log ${seen}.`,
        ],
        r,
      );
      return 0;
    },
  );
}
