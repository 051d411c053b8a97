/** `custos console lexicon add|list|remove`: lexicon rules for supervision review, held by the server as blind tokens only. */
import { addLexiconRule, listLexiconRules, removeLexiconRule, type LexiconRule } from '@custos/console';
import type { CliIo } from '../cli.js';
import { fullId, optionalString, UsageError } from '../command-flags.js';
import { runSubcommands, type Subcommand } from '../command-runner.js';
import { OFFICER_FLAGS, OFFICER_OPTIONS_HELP, withOfficerSession } from './console-officer.js';

const USAGE = `Usage: custos console lexicon add TERM… [--name NAME] --profile DIR
       custos console lexicon list --profile DIR
       custos console lexicon remove RULE --profile DIR
       (each also takes --passphrase-file FILE and --json)

Lexicon rules queue new archived records for supervision review (FINRA 3110). A rule
matches a record that contains any of its TERMs; a TERM of several words ("a phrase",
quoted) matches when all its words occur. The server never sees a TERM: it gets the blind
tokens of its words under each current and future bucket's index key, and the name.

  add TERM…               adds a rule; prints its id. Its terms also go to the server sealed to
                          every officer: 'custos org buckets --ahead' and 'console grant-index-keys'
                          extend the rule to buckets registered later
  --name NAME             a label for the rule, visible to the server: keep it neutral (default
                          rule-<time>)
  list                    the active rules: id, name, number of terms, buckets covered
  remove RULE             removes a rule; items it already queued stay in the queue
${OFFICER_OPTIONS_HELP}
See docs/officers.md "Daily review".
`;

const FLAGS = { ...OFFICER_FLAGS, name: 'string' } as const;

function ruleLine(r: LexiconRule): string {
  const when = new Date(r.createdAt).toISOString().slice(0, 16).replace('T', ' ');
  const last = [...r.buckets].sort().at(-1) ?? 'none';
  return `${r.ruleId}  ${r.name}  ${r.terms} term(s)  ${r.buckets.length} bucket(s), last ${last}  added ${when}Z by ${r.createdBy}`;
}

const SUBCOMMANDS: Record<string, Subcommand> = {
  add: {
    max: 32,
    async run(ctx) {
      if (ctx.positionals.length === 0) throw new UsageError('give at least one TERM');
      const name = optionalString(ctx.flags, 'name');
      const r = await withOfficerSession(ctx, (s) =>
        addLexiconRule(s, ctx.positionals, {
          ...(name === undefined ? {} : { name }),
          onProgress: (m) => ctx.note(`custos console lexicon: ${m}`),
        }),
      );
      const lines = [
        `Rule ${r.ruleId} (${r.name}) added: ${r.terms} term(s), tokens for ${r.buckets.length} bucket(s).`,
      ];
      if (r.bucketsWithoutWrap.length > 0)
        lines.push(
          `You hold no wrap of ${r.bucketsWithoutWrap.join(', ')}: another officer must add it there.`,
        );
      ctx.result(lines, r);
      return 0;
    },
  },
  list: {
    max: 0,
    async run(ctx) {
      const rules = await withOfficerSession(ctx, (s) => listLexiconRules(s));
      ctx.result(rules.length === 0 ? ['No lexicon rules.'] : rules.map(ruleLine), { rules });
      return 0;
    },
  },
  remove: {
    max: 1,
    async run(ctx) {
      const ruleId = ctx.positionals[0];
      if (ruleId === undefined) throw new UsageError('give the RULE id to remove');
      fullId(ruleId, 'RULE', "as 'custos console lexicon list' shows it");
      const removedAt = await withOfficerSession(ctx, (s) => removeLexiconRule(s, ruleId));
      ctx.result(`Rule ${ruleId} removed.`, { ruleId, removedAt });
      return 0;
    },
  },
};

/** Runs `custos console lexicon …`. */
export function runConsoleLexicon(args: readonly string[], io: CliIo): Promise<number> {
  return runSubcommands({ name: 'console lexicon', usage: USAGE, flags: FLAGS }, SUBCOMMANDS, args, io);
}
