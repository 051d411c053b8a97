/**
 * Every `custos …` command printed in the README and the guides (officers, ceremony, device
 * commands, operations, exports, search) still parses: its command and subcommands exist and
 * its flags are known, checked by the CLI's own dispatcher and flag parser (CliIo.checkOnly:
 * nothing runs, no server). A renamed flag or command fails here until the guide is updated.
 */
import { readFileSync } from 'node:fs';
import { firstStartText, issuedTokenText } from '@custos/server';
import { describe, expect, it } from 'vitest';
import { docCommands } from './testing/doc-commands.js';
import { cli } from './testing/run-cli.js';

const GUIDES = [
  'README.md',
  'docs/officers.md',
  'docs/ceremony.md',
  'docs/client.md',
  'docs/operations.md',
  'docs/exports.md',
  'docs/search.md',
];
const read = (path: string): string => readFileSync(new URL(`../../../${path}`, import.meta.url), 'utf8');
const commands = GUIDES.flatMap((g) => docCommands(g, read(g)));

describe('commands in the guides', () => {
  it('finds the commands of every guide', () => {
    expect(commands.length).toBeGreaterThanOrEqual(60);
    for (const g of GUIDES) expect(commands.some((c) => c.file === g)).toBe(true);
    // Notation is read as usage: optional flags kept, alternatives split, continuations joined.
    const ceremony = commands.filter((c) => c.file === 'docs/ceremony.md');
    expect(ceremony.filter((c) => c.args.join(' ').startsWith('org create'))).toHaveLength(2);
    // A fresh clone's `node packages/cli/dist/main.js …` and `npm start -- …` are read too.
    expect(commands.some((c) => c.file === 'README.md' && c.args[0] === 'server')).toBe(true);
    expect(commands.find((c) => c.args.includes('--bootstrap-token-file'))?.args).toContain('--threshold');
  });

  it.each(commands.map((c) => [`${c.file}:${c.line}`, c.args.join(' '), c] as const))(
    '%s: custos %s',
    async (_where, _line, c) => {
      // A bare `|` would be taken as an argument by commands with free positionals (group create):
      // alternatives go in `( … | … )` or on lines of their own.
      expect(c.args, `${c.text}: a '|' outside ( ) or [ ]: write one form per line`).not.toContain('|');
      const r = await cli(c.args, { checkOnly: true });
      expect(r.err, c.text).toBe('');
      expect(r.code).toBe(0);
    },
  );

  // What the server prints for the operator to run next parses too, with every option org create requires.
  const printed = [
    firstStartText('cb1.t', 'http://127.0.0.1:8443', './bootstrap.token', '/srv/custos-data'),
    firstStartText('cb1.t', 'http://127.0.0.1:8443', null),
    issuedTokenText({ token: 'cb1.t', expiresAt: 0, outstanding: 1 }, null),
    issuedTokenText({ token: 'cb1.t', expiresAt: 0, outstanding: 1 }, '/root/next.token'),
  ].flatMap((text, i) =>
    docCommands(
      `server text ${i}`,
      `\`\`\`\n${text
        .split('\n')
        .map((l) => l.trimStart())
        .join('\n')}\n\`\`\``,
    ),
  );
  it.each(printed.map((c) => [`${c.file}:${c.line}`, c.args.join(' '), c] as const))(
    '%s: custos %s',
    async (_where, _line, c) => {
      if (c.args[0] === 'org') {
        for (const flag of [
          '--server',
          '--bootstrap-token-file',
          '--name',
          '--officers',
          '--threshold',
          '--out',
        ])
          expect(c.args, c.text).toContain(flag);
      }
      const r = await cli(c.args, { checkOnly: true });
      expect(r.err, c.text).toBe('');
      expect(r.code).toBe(0);
    },
  );
  it('finds the commands the server prints', () => {
    expect(printed.filter((c) => c.args[0] === 'org')).toHaveLength(4);
    expect(printed.filter((c) => c.args.join(' ').startsWith('server bootstrap-token'))).toHaveLength(2);
  });

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
