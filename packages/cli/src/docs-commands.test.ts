/**
 * Every `custos …` command printed in the officers' guide and the ceremony guide still
 * parses: its command and subcommands exist and its flags are known, checked by the CLI's
 * own dispatcher and flag parser (CliIo.checkOnly: nothing runs, no server). A renamed flag
 * or command fails here until the guide is updated.
 */
import { readFileSync } from 'node:fs';
import { describe, expect, it } from 'vitest';
import { docCommands } from './testing/doc-commands.js';
import { cli } from './testing/run-cli.js';

const GUIDES = ['docs/officers.md', 'docs/ceremony.md'];
const read = (path: string): string => readFileSync(new URL(`../../../${path}`, import.meta.url), 'utf8');
const commands = GUIDES.flatMap((g) => docCommands(g, read(g)));

describe('commands in the guides', () => {
  it('finds the guides’ commands (officers.md and ceremony.md)', () => {
    expect(commands.length).toBeGreaterThanOrEqual(30);
    for (const g of GUIDES) expect(commands.some((c) => c.file === g)).toBe(true);
    // Notation is read as usage: optional flags kept, alternatives split, continuations joined.
    expect(commands.filter((c) => c.args.join(' ').startsWith('org create'))).toHaveLength(2);
    expect(commands.find((c) => c.args.includes('--bootstrap-token-file'))?.args).toContain('--threshold');
  });

  it.each(commands.map((c) => [`${c.file}:${c.line}`, c.args.join(' '), c] as const))(
    '%s: custos %s',
    async (_where, _line, c) => {
      const r = await cli(c.args, { checkOnly: true });
      expect(r.err, c.text).toBe('');
      expect(r.code).toBe(0);
    },
  );

  it.each([
    [['console', 'serch', 'budget', '--profile', 'DIR'], /unknown subcommand 'serch'/],
    [['console', 'hold', 'list', '--profil', 'DIR'], /unknown option --profil/],
    [
      ['admin', 'roles', 'set-retention', 'member', 'standard', 'extra'],
      /unexpected argument 'extra'|too many/,
    ],
    [['org', 'buckets', '--ahead'], /--ahead needs a value/],
    [['org', 'create', '--officer', '3'], /unknown option --officer/],
    [['verify', 'exports/x', '--log-keys', 'K'], /unknown option --log-keys/],
  ])('fails a command line the CLI would refuse: %j', async (args, message) => {
    const r = await cli(args, { checkOnly: true });
    expect(r.code).toBe(2);
    expect(r.err).toMatch(message);
  });
});
