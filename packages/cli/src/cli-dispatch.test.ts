/**
 * Command and subcommand names are looked up in plain object tables; a name that an object
 * inherits (`constructor`, `toString`, `__proto__`) must be an unknown command with exit 2
 * and a message naming it, never a TypeError with a stack trace.
 */
import { readFileSync } from 'node:fs';
import { describe, expect, it } from 'vitest';
import { cli } from './testing/run-cli.js';

describe('command dispatch', () => {
  it.each([
    [['constructor'], "custos: unknown command 'constructor'"],
    [['console', 'toString'], "custos console: unknown subcommand 'toString'"],
    [['console', 'hold', 'hasOwnProperty'], "custos console hold: unknown subcommand 'hasOwnProperty'"],
    [['console', 'lexicon', 'constructor'], "custos console lexicon: unknown subcommand 'constructor'"],
    [['console', 'review', 'valueOf'], "custos console review: unknown subcommand 'valueOf'"],
    [['admin', '__proto__'], "custos admin: unknown subcommand '__proto__'"],
    [['group', 'constructor', 'x'], "custos group: unknown subcommand 'constructor'"],
  ])('%j is an unknown command, exit 2', async (args, message) => {
    const r = await cli(args);
    expect(r.err).toContain(message);
    expect(r.err).not.toMatch(/TypeError|\n\s+at /);
    expect(r.code).toBe(2);
  });

  it('still runs a known subcommand (its usage with --help)', async () => {
    const r = await cli(['console', 'hold', '--help']);
    expect(r.code).toBe(0);
    expect(r.out).toMatch(/^Usage: custos console hold create/);
  });

  // 'custos help' says "'custos <command> --help' for each": a group answers it with its subcommands.
  it.each([
    [
      'console',
      [
        'enroll',
        'grant-index-keys',
        'search',
        'hold',
        'dispose',
        'export',
        'review',
        'audit',
        'archive-copy',
      ],
    ],
    ['org', ['create', 'unlock', 'buckets', 'officers']],
  ])('custos %s --help, -h and help list its subcommands, exit 0', async (group, subs) => {
    for (const word of ['--help', '-h', 'help']) {
      const r = await cli([group, word]);
      expect(r.code).toBe(0);
      expect(r.err).toBe('');
      expect(r.out).toMatch(new RegExp(`^Usage: custos ${group} <subcommand>`));
      for (const sub of subs) expect(r.out).toMatch(new RegExp(`^  ${group} ${sub} `, 'm'));
    }
  });

  it.each([
    [
      'console',
      /^custos console: a subcommand is needed: enroll, grant-index-keys, .*audit, archive-copy\. Run 'custos console --help'\.\n$/,
    ],
    [
      'org',
      /^custos org: a subcommand is needed: create, unlock, buckets, officers\. Run 'custos org --help'\.\n$/,
    ],
  ])('custos %s alone names its subcommands, exit 2', async (group, message) => {
    const r = await cli([group]);
    expect(r.code).toBe(2);
    expect(r.err).toMatch(message);
  });

  it('custos --version and custos version print the package version', async () => {
    const { version } = JSON.parse(readFileSync(new URL('../package.json', import.meta.url), 'utf8')) as {
      version: string;
    };
    for (const word of ['--version', 'version']) {
      const r = await cli([word]);
      expect(r.code).toBe(0);
      expect(r.out).toBe(`custos ${version}\n`);
    }
  });
});
