/** `custos console reseal`: re-seals lexicon rules and holds to officers added after they were made (docs/officers.md). */
import { resealStandingCriteria } from '@custos/console';
import type { CliIo } from '../cli.js';
import { runCommand } from '../command-runner.js';
import { OFFICER_FLAGS, OFFICER_OPTIONS_HELP, withOfficerSession } from './console-officer.js';

const USAGE = `Usage: custos console reseal --profile DIR [--passphrase-file FILE] [--json]

Lexicon rules and query or conversation holds keep their criterion (the rule's terms, the
hold's query or conversation) on the server sealed to each officer of the officer list at the
time they were made. An officer added later holds no seal of them and cannot extend them to
new buckets. This command opens your seal of every active rule and hold and re-seals it to
the officers of your org.json who lack one (keeping the other seals, signed with your officer
key); the server stores it opaque, as an audit act. Run it after 'custos org officers add'
(any officer who holds a seal; 'custos console grant-index-keys' also does it first thing).
Idempotent: a rerun sends nothing. Progress goes to stderr.

${OFFICER_OPTIONS_HELP}
See docs/officers.md "Adding and removing an officer".
`;

/** Runs `custos console reseal`. */
export function runConsoleReseal(args: readonly string[], io: CliIo): Promise<number> {
  return runCommand(
    { name: 'console reseal', usage: USAGE, flags: OFFICER_FLAGS, maxPositionals: 0 },
    args,
    io,
    async (ctx) => {
      const r = await withOfficerSession(ctx, (s) =>
        resealStandingCriteria(s, { progress: (m) => ctx.note(`custos console reseal: ${m}`) }),
      );
      const lines = [
        ...r.resealed.map(
          (x) =>
            `${x.kind === 'rule' ? 'Lexicon rule' : 'Legal hold'} ${x.id}: re-sealed to officer(s) ${x.to.map((i) => i + 1).join(', ')}.`,
        ),
        ...r.skipped.map((x) => `NOT RESEALED ${x.id}: ${x.why}.`),
        `Re-sealed ${r.resealed.length} rule(s) and hold(s); ${r.skipped.length} left as they were.`,
      ];
      ctx.result(lines, r);
      return r.skipped.some((x) => x.reseal === true) ? 1 : 0;
    },
  );
}
