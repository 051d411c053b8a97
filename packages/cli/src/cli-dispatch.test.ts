/**
 * Command and subcommand names are looked up in plain object tables; a name that an object
 * inherits (`constructor`, `toString`, `__proto__`) must be an unknown command with exit 2
 * and a message naming it, never a TypeError with a stack trace.
 */
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
});
