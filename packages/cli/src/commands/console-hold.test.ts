/**
 * `custos console hold` command lines: exactly one criterion, inclusive UTC days, refusals with
 * exit 2 before any profile is opened; `hold list` lines name who placed and released a hold.
 */
import { describe, expect, it } from 'vitest';
import { UsageError } from '../command-flags.js';
import { cli } from '../testing/run-cli.js';
import { holdCriterionOf, holdLine } from './console-hold.js';

const flags = (o: Record<string, string | true>) => new Map(Object.entries(o));

describe('console hold command line', () => {
  it('names exactly one criterion', () => {
    const user = 'uuuuuuuuuuuuuuuuuuuuu1';
    const address = `${user}@${'o'.repeat(22)}`;
    expect(holdCriterionOf(flags({ custodian: user }))).toEqual({ custodian: user });
    expect(holdCriterionOf(flags({ custodian: address }))).toEqual({ custodian: address });
    expect(holdCriterionOf(flags({ conversation: 'c1' }))).toEqual({ conversationId: 'c1' });
    expect(holdCriterionOf(flags({ query: 'budget "board meeting"' }))).toEqual({
      query: 'budget "board meeting"',
    });
    expect(holdCriterionOf(flags({ from: '2026-01-01', to: '2026-01-31' }))).toEqual({
      from: Date.UTC(2026, 0, 1),
      to: Date.UTC(2026, 0, 31),
    });
    for (const bad of [
      {},
      { custodian: 'uuuuuuuuuuuuuuuuuuuuu1', query: 'x' },
      { conversation: 'c', from: '2026-01-01', to: '2026-01-02' },
      { from: '2026-01-01' },
      { to: '2026-01-01' },
      { from: '2026-02-01', to: '2026-01-31' },
      { from: '2026-02-30', to: '2026-03-01' },
      { from: '1 Jan 2026', to: '2026-03-01' },
    ]) {
      expect(() => holdCriterionOf(flags(bad)), JSON.stringify(bad)).toThrow(UsageError);
    }
  });

  it('refuses incomplete command lines with exit 2 before asking for a passphrase', async () => {
    for (const args of [
      ['console', 'hold'],
      ['console', 'hold', 'place'],
      ['console', 'hold', 'create', '--custodian', 'uuuuuuuuuuuuuuuuuuuuu1', '--profile', '/nonexistent'],
      ['console', 'hold', 'create', '--matter', 'M', '--profile', '/nonexistent'],
      ['console', 'hold', 'release', '--reason', 'r', '--profile', '/nonexistent'],
      ['console', 'hold', 'release', 'h1', '--profile', '/nonexistent'],
      ['console', 'hold', 'list', 'extra', '--profile', '/nonexistent'],
    ]) {
      const r = await cli(args);
      expect(r.code, `${args.join(' ')}: ${r.err}`).toBe(2);
    }
    // A name (officer profiles have no address book) used to reach the server and come back
    // as its id pattern; now it is a command-line mistake that says where addresses are.
    const named = await cli([
      'console',
      'hold',
      'create',
      '--custodian',
      'alice',
      '--matter',
      'M',
      '--profile',
      '/nonexistent',
    ]);
    expect(named.code).toBe(2);
    expect(named.err).toContain(
      '--custodian alice: not a user id or address; officer profiles keep no address book',
    );
    // An id shortened as device commands allow (or a name) is a command-line mistake that says
    // where whole ids are shown, not the server's path pattern; the same for the other officer ids.
    for (const [args, says] of [
      [
        ['console', 'hold', 'release', 'Btz5', '--reason', 'r'],
        "HOLD must be a whole id (22 letters, digits, '-' or '_'), as 'custos console hold list' shows it",
      ],
      [
        ['console', 'review', 'decide', '9uTN', '--decision', 'cleared', '--note', 'n'],
        "ITEM must be a whole id (22 letters, digits, '-' or '_'), as 'custos console review next' shows it",
      ],
      [['console', 'review', 'note', '9uTN'], 'ITEM must be a whole id'],
      [
        ['console', 'lexicon', 'remove', '6Txa'],
        "RULE must be a whole id (22 letters, digits, '-' or '_'), as 'custos console lexicon list' shows it",
      ],
    ] as const) {
      const r = await cli([...args, '--profile', '/nonexistent']);
      expect([r.code, r.err], args.join(' ')).toEqual([2, expect.stringContaining(says)]);
    }
    const byName = await cli([
      'verify',
      'log',
      '--server',
      'http://127.0.0.1:1',
      '--org',
      'Example Agency',
      '--state',
      '/nonexistent/w.state',
    ]);
    expect([byName.code, byName.err]).toEqual([
      2,
      expect.stringContaining(
        "--org must be a whole id (22 letters, digits, '-' or '_'), the organisation's id (not its name)",
      ),
    ]);
    const badKey = await cli([
      'verify',
      'log',
      '--server',
      'http://127.0.0.1:1',
      '--org',
      'o'.repeat(22),
      '--state',
      '/nonexistent/w.state',
      '--log-key',
      'foo',
    ]);
    expect([badKey.code, badKey.err]).toEqual([
      2,
      expect.stringContaining(
        "--log-key is not a log verifier key: verifier key: expected '<name>+<key id>+<key>'",
      ),
    ]);
    const help = await cli(['console', 'hold', '--help']);
    expect([help.code, help.out.includes('--custodian USER')]).toEqual([0, true]);
  });

  it('names the user who placed and released each hold beside the device the log names', () => {
    const [placer, releaser] = ['p'.repeat(22), 'r'.repeat(22)];
    const [placerDevice, releaserDevice] = ['d'.repeat(21) + '1', 'd'.repeat(21) + '2'];
    const hold = {
      holdId: 'h'.repeat(22),
      kind: 'custodian' as const,
      matter: 'M-2026-014',
      custodian: 'c'.repeat(22),
      from: null,
      to: null,
      buckets: [],
      createdBy: placerDevice,
      createdByUser: placer,
      createdAt: Date.UTC(2026, 2, 1, 9, 30),
      releasedBy: null,
      releasedByUser: null,
      releasedAt: null,
      releaseReason: null,
      releaseStatement: null,
      releaseSignature: null,
      placedDetail: null,
    };
    const placed = `placed 2026-03-01 09:30Z by user ${placer} (device ${placerDevice})`;
    expect(holdLine(hold)).toBe(`${hold.holdId}  M-2026-014  custodian ${hold.custodian}  ${placed}  ACTIVE`);
    const released = {
      ...hold,
      releasedBy: releaserDevice,
      releasedByUser: releaser,
      releasedAt: Date.UTC(2026, 5, 2, 14, 5),
      releaseReason: 'settled',
    };
    expect(holdLine(released)).toBe(
      `${hold.holdId}  M-2026-014  custodian ${hold.custodian}  ${placed}  ` +
        `released 2026-06-02 14:05Z by user ${releaser} (device ${releaserDevice}): settled`,
    );
    // With an admin's names file, users show by name as well (escaped for the terminal).
    const names = new Map([
      [hold.custodian, 'Alice Adams'],
      [placer, 'Olga \u001b]0;x\u0007Officer'],
    ]);
    expect(holdLine(hold, names)).toBe(
      `${hold.holdId}  M-2026-014  custodian Alice Adams (${hold.custodian})  ` +
        `placed 2026-03-01 09:30Z by user Olga \\x1b]0;x\\x07Officer (${placer}) (device ${placerDevice})  ACTIVE`,
    );
    expect(holdLine(released, names)).toContain(`by user ${releaser} (device ${releaserDevice}): settled`);
    // A device the server does not know (it never deletes one) still shows the device.
    expect(holdLine({ ...hold, createdByUser: null })).toContain(
      `placed 2026-03-01 09:30Z by device ${placerDevice}  ACTIVE`,
    );
  });
});
