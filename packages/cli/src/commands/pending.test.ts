import { join } from 'node:path';
import { PassThrough } from 'node:stream';
import { describe, expect, it } from 'vitest';
import type { MessageEvent, PendingSendInfo } from '@custos/client';
import { AddressBook } from '../address-book.js';
import { CliFailure } from '../command-runner.js';
import { confirm, isYes, type AnswerInput } from '../confirm-prompt.js';
import { memorySettings } from '../testing/memory-settings.js';
import { cli, testFolder } from '../testing/run-cli.js';
import { discardLines, pendingListLines } from './pending.js';

const dir = testFolder('custos-cli-pending-');

const ORG = 'O'.repeat(22);
const ALICE = { orgId: ORG, userId: 'A'.repeat(22) };
const BOB = { orgId: ORG, userId: 'B'.repeat(22) };
const CAROL = { orgId: ORG, userId: 'C'.repeat(22) };
const SINCE = Date.UTC(2026, 10, 28, 3, 41);

const toBob: PendingSendInfo = {
  id: 'abcdefgh12345678901234',
  conversation: 'dm.x',
  kind: 'message',
  recipients: [BOB],
  since: SINCE,
  tries: 2,
};
const toGroup: PendingSendInfo = {
  id: 'teamreaction1234567890',
  conversation: 'g.team',
  group: 'g.team',
  kind: 'reaction',
  recipients: [BOB, CAROL],
  since: SINCE + 60_000,
  tries: 0,
};

function words() {
  const book = new AddressBook(memorySettings());
  book.add('Bob', BOB);
  // A group name is a peer's text: a control sequence in it is shown, never executed.
  return { book, groupNameOf: (id: string) => (id === 'g.team' ? 'Team\u001b[2J' : undefined) };
}

const sent: MessageEvent = {
  content: { id: 'abcdefgh12345678901234', timestamp: SINCE, kind: 'message', text: 'stuck' },
  from: ALICE,
  peer: BOB,
  direction: 'sent',
  archiveSeq: 4,
  conversation: 'dm.x',
};

/** A terminal's input that answers `typed` (ended: nothing more is typed). */
function terminal(typed: string): AnswerInput {
  const input = Object.assign(new PassThrough(), { isTTY: true });
  input.end(typed);
  return input;
}

function output(): { stream: PassThrough; text: () => string } {
  const stream = new PassThrough();
  let text = '';
  stream.on('data', (d: Buffer) => (text += d.toString()));
  return { stream, text: () => text };
}

describe('custos pending', () => {
  it('lists each pending send oldest first — what, to whom, since when, failed tries — and what to do', () => {
    expect(pendingListLines([], words())).toEqual(['No pending sends: nothing holds later sends back.']);
    const lines = pendingListLines([toBob, toGroup], words());
    expect(lines[0]).toBe('2 pending send(s), oldest first (every later send waits for the first):');
    expect(lines[1]).toBe('  a message to Bob since 2026-11-28 03:41 UTC (2 failed tries)');
    expect(lines[2]).toBe('  a reaction to group Team\\x1b[2J since 2026-11-28 03:42 UTC (0 failed tries)');
    expect(lines.join('\n')).toMatch(
      /'custos sync' sends them again.*'custos pending --discard' gives up on it/s,
    );
  });

  it('says what a discard did: possibly delivered (and what), or dropped; and whether later sends go', () => {
    const uncertain = discardLines(toBob, sent, [], words()).join('\n');
    expect(uncertain).toMatch(/^Discarded a message to Bob since 2026-11-28 03:41 UTC \(2 failed tries\):/);
    expect(uncertain).toContain('you → Bob: stuck  #abcdefgh');
    expect(uncertain).toContain('Recorded as possibly delivered (a delivery-uncertain warning)');
    expect(uncertain).toContain('Nothing else is pending: later sends go again.');
    const dropped = discardLines(toBob, undefined, [toGroup], words()).join('\n');
    expect(dropped).toContain('nobody has it: dropped, with a delivery-failed warning');
    expect(dropped).not.toContain('possibly delivered');
    expect(dropped).toContain("1 more pending: later sends still wait ('custos pending' lists them)");
  });

  it('refuses command-line mistakes before opening a profile, and names a missing profile', async () => {
    for (const [args, message] of [
      [['pending', '--yes'], /--yes goes with --discard/],
      [['pending', 'discard'], /unexpected argument 'discard'/],
      [['pending', '--discard', '--force'], /unknown option --force/],
    ] as const) {
      const r = await cli(args);
      expect(r.code, args.join(' ')).toBe(2);
      expect(r.err, args.join(' ')).toMatch(message);
    }
    const profile = join(dir, 'nothing-here');
    const r = await cli(['pending', '--discard', '--yes', '--profile', profile, '--json']);
    expect(r.code).toBe(1);
    expect(JSON.parse(r.out)).toMatchObject({ error: { code: 'NO_PROFILE' } });
  });

  it('--help says what a discard records, and custos help lists the command', async () => {
    const r = await cli(['pending', '--help']);
    expect(r.code).toBe(0);
    for (const s of ['--discard', '--yes', '--profile DIR', 'possibly', 'delivery-uncertain', 'SEND_BLOCKED'])
      expect(r.out).toContain(s);
    expect((await cli(['help'])).out).toMatch(/^ {2}pending {9}\S/m);
  });
});

describe('confirm', () => {
  it('takes y or yes (any case) as yes; anything else, an empty line and the end of input as no', async () => {
    for (const [typed, yes] of [
      ['y\n', true],
      [' YES \n', true],
      ['n\n', false],
      ['yes please\n', false],
      ['\n', false],
      ['', false],
    ] as const) {
      const out = output();
      expect(
        await confirm('Discard? [y/N] ', terminal(typed), out.stream, '--yes'),
        JSON.stringify(typed),
      ).toBe(yes);
      expect(out.text()).toBe('Discard? [y/N] ');
    }
    expect(isYes('Y')).toBe(true);
    expect(isYes('yeah')).toBe(false);
  });

  it('asks only on a terminal: elsewhere it fails naming the flag that skips the question', async () => {
    const input = new PassThrough();
    input.end('y\n');
    const out = output();
    const e: unknown = await confirm('Discard? ', input, out.stream, '--yes').catch((x: unknown) => x);
    expect(e).toBeInstanceOf(CliFailure);
    expect(e).toMatchObject({ code: 'CONFIRMATION_NEEDED', message: expect.stringMatching(/add --yes/) });
    expect(out.text()).toBe('');
  });

  it('shows control characters in the question as text', async () => {
    const out = output();
    await confirm('Discard a message to group \u001b]0;x\u0007? ', terminal('n\n'), out.stream, '--yes');
    expect(out.text()).toBe('Discard a message to group \\x1b]0;x\\x07? ');
  });
});
