import { join } from 'node:path';
import { PassThrough } from 'node:stream';
import { describe, expect, it } from 'vitest';
import { ClientError, type MessageEvent, type PendingSendInfo, type Warning } from '@custos/client';
import { AddressBook } from '../address-book.js';
import { CliFailure } from '../command-runner.js';
import { confirm, isYes, type AnswerInput } from '../confirm-prompt.js';
import { memorySettings } from '../testing/memory-settings.js';
import { cli, testFolder, type CliRun } from '../testing/run-cli.js';
import { takeNewWarnings } from '../warning-display.js';
import {
  discardLines,
  pendingListLines,
  runPendingOn,
  type DiscardOutcome,
  type PendingClient,
} from './pending.js';

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
  unreached: 0,
};
const toGroup: PendingSendInfo = {
  id: 'teamreaction1234567890',
  conversation: 'g.team',
  group: 'g.team',
  kind: 'reaction',
  recipients: [BOB, CAROL],
  since: SINCE + 60_000,
  tries: 0,
  unreached: 0,
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

const TEAM_AT = SINCE + 60_000;
const teamEvent: MessageEvent = {
  content: {
    id: 'teammsg012345678901234',
    timestamp: TEAM_AT,
    kind: 'message',
    text: 'to the team',
    group: 'g.team',
  },
  from: ALICE,
  peer: ALICE,
  direction: 'sent',
  archiveSeq: 7,
  conversation: 'g.team',
  group: 'g.team',
};

const warning = (
  kind: Warning['kind'],
  who: { orgId: string; userId: string },
  detail: string,
  at = SINCE + 120_000,
): Warning => ({
  seq: 0, // numbered when recorded (PendingStub.record)
  at,
  kind,
  from: `${who.orgId}.${who.userId}`,
  detail,
});
const uncertainBob = warning(
  'delivery-uncertain',
  BOB,
  'a pending send was discarded before the server confirmed it',
);
const failedBob = warning('delivery-failed', BOB, 'not delivered to the recipient: discarded');
const failedCarol = warning('delivery-failed', CAROL, 'not delivered to a group member: discarded');
const failedOwn = warning('delivery-failed', ALICE, 'not delivered to own devices: discarded');
const uncertainOwn = warning(
  'delivery-uncertain',
  ALICE,
  'a pending send was discarded before the server confirmed it',
);
const earlier = warning('undecryptable', BOB, 'an envelope did not decrypt', SINCE);

/**
 * The SDK's pending-send calls over a list (its own tests cover them over a real store,
 * send-discard.test.ts): discarding gives `outcome` and records its warnings, and refuses
 * PENDING_CHANGED, as the SDK does, when the send asked about is no longer the oldest.
 */
class PendingStub {
  readonly settings = memorySettings();
  readonly stored: Warning[] = [];
  readonly discarded: string[] = [];
  readonly profile = { orgName: 'Example Agency', ...ALICE };
  uploads = 0;
  constructor(
    public pending: PendingSendInfo[],
    public outcome: { event?: MessageEvent; warnings: Warning[] },
  ) {
    new AddressBook(this.settings).add('Bob', BOB);
  }
  pendingSends(): PendingSendInfo[] {
    return [...this.pending];
  }
  warnings(): Warning[] {
    return [...this.stored];
  }
  /** Records warnings under the next numbers, as the SDK does. */
  record(...ws: Warning[]): void {
    for (const w of ws) this.stored.push({ ...w, seq: (this.stored.at(-1)?.seq ?? 0) + 1 });
  }
  group(id: string): { name: string } | undefined {
    return id === 'g.team' ? { name: 'Team' } : undefined;
  }
  uploadArchive(): Promise<number> {
    this.uploads++;
    return Promise.resolve(1);
  }
  discardPendingSend(expectedId?: string): Promise<MessageEvent | undefined> {
    const [oldest] = this.pending;
    if (expectedId !== undefined && oldest?.id !== expectedId)
      return Promise.reject(
        new ClientError('PENDING_CHANGED', 'the oldest pending send is no longer the one to discard'),
      );
    if (oldest === undefined) return Promise.resolve(undefined);
    this.pending.shift();
    this.discarded.push(oldest.id);
    this.record(...this.outcome.warnings);
    return Promise.resolve(this.outcome.event);
  }
}

/** Runs `custos pending ARGS` on `stub`; `typed` answers on a terminal, `onAsk` runs once the question is shown. */
async function runOn(args: string[], stub: PendingStub, typed = '', onAsk?: () => void): Promise<CliRun> {
  const stdout = output();
  const stderr = output();
  if (onAsk !== undefined) stderr.stream.once('data', onAsk);
  const code = await runPendingOn(
    args,
    { stdout: stdout.stream, stderr: stderr.stream, stdin: terminal(typed) },
    stub as unknown as PendingClient,
  );
  return { code, out: stdout.text(), err: stderr.text() };
}

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
    // Tries at which the server could not be reached are shown too (before: "0 failed tries").
    const offline = pendingListLines(
      [
        { ...toBob, tries: 0, unreached: 1 },
        { ...toBob, unreached: 3 },
      ],
      words(),
    );
    expect(offline[1]).toBe(
      '  a message to Bob since 2026-11-28 03:41 UTC (1 try could not reach the server)',
    );
    expect(offline[2]).toMatch(/UTC \(2 failed tries, 3 tries could not reach the server\)$/);
  });

  it('says what a discard recorded: possibly delivered, stored as sent with failed recipients, or dropped', () => {
    const w = { ...words(), orgName: 'Example Agency', me: `${ORG}.${ALICE.userId}` };
    const outcome = (o: Partial<DiscardOutcome>): DiscardOutcome => ({
      discarded: toBob,
      event: sent,
      warnings: [],
      earlier: [],
      uploaded: true,
      left: [],
      ...o,
    });
    const uncertain = discardLines(outcome({ warnings: [uncertainBob, failedOwn] }), w).join('\n');
    expect(uncertain).toMatch(/^Discarded a message to Bob since 2026-11-28 03:41 UTC \(2 failed tries\):/);
    expect(uncertain).toContain('you → Bob: stuck  #abcdefgh');
    expect(uncertain).toContain('Recorded as possibly delivered (a delivery-uncertain warning)');
    expect(uncertain).toContain('delivery-uncertain from Bob: a pending send was discarded');
    expect(uncertain).toContain('Archived by Example Agency (record 4, uploaded).');
    expect(uncertain).toContain('Nothing else is pending: later sends go again.');
    // A group send bob accepted and carol's try never reached: the SDK returns its event, but
    // nothing is possibly delivered — carol and own devices are delivery-failed, shown now.
    const partly = discardLines(
      outcome({ discarded: toGroup, event: teamEvent, warnings: [failedCarol, failedOwn], uploaded: false }),
      w,
    ).join('\n');
    expect(partly).not.toContain('possibly delivered');
    expect(partly).toContain('Stored as sent: the server confirmed it for a recipient');
    expect(partly).toContain(`delivery-failed from ${CAROL.userId}@${ORG}: not delivered to a group member`);
    expect(partly).toContain('Archived by Example Agency (record 7, queued: uploads on the next sync).');
    const dropped = discardLines(
      outcome({
        event: undefined,
        warnings: [failedBob],
        uploaded: undefined,
        left: [toGroup],
        earlier: [earlier],
      }),
      w,
    ).join('\n');
    expect(dropped).toContain('nobody has it: dropped, with delivery-failed warnings');
    expect(dropped).toContain('delivery-failed from Bob');
    expect(dropped).toMatch(/Earlier warnings, not shown before:\nwarning .*undecryptable from Bob/);
    expect(dropped).not.toContain('possibly delivered');
    expect(dropped).not.toContain('Archived');
    expect(dropped).toContain("1 more pending: later sends still wait ('custos pending' lists them)");
  });

  it('--discard reports what the discard recorded (a group send a member accepted: not possibly delivered), uploads its record, and shows each warning once', async () => {
    const stub = new PendingStub([toGroup, toBob], { event: teamEvent, warnings: [failedCarol, failedOwn] });
    stub.record(earlier);
    const r = await runOn(['--discard', '--yes', '--json'], stub);
    expect(r.code, r.err).toBe(0);
    const out = JSON.parse(r.out) as Record<string, unknown>;
    expect(out).toMatchObject({
      discarded: { id: toGroup.id, group: 'g.team' },
      possiblyDelivered: false,
      event: { archiveSeq: 7 },
      warnings: [
        { kind: 'delivery-failed', from: `${CAROL.userId}@${ORG}` },
        { kind: 'delivery-failed', from: `${ALICE.userId}@${ORG}` },
      ],
      earlierWarnings: [{ kind: 'undecryptable' }],
      archiveUploaded: true,
      pendingSends: [{ id: toBob.id }],
    });
    expect(stub.uploads).toBe(1);
    expect(takeNewWarnings(stub)).toEqual([]);
    // A 1:1 send whose request may be at the server: possibly delivered.
    stub.outcome = { event: sent, warnings: [uncertainBob, failedOwn] };
    const r2 = await runOn(['--discard', '--yes'], stub);
    expect(r2.code, r2.err).toBe(0);
    expect(r2.out).toContain('Recorded as possibly delivered');
    expect(r2.out).not.toContain('Earlier warnings');
    expect(stub.discarded).toEqual([toGroup.id, toBob.id]);
  });

  it('--discard of a send Bob accepted whose copy to own devices is uncertain: not possibly delivered, the own copy said apart', async () => {
    const stub = new PendingStub([toBob], { event: sent, warnings: [uncertainOwn] });
    const r = await runOn(['--discard', '--yes', '--json'], stub);
    expect(r.code, r.err).toBe(0);
    expect(JSON.parse(r.out)).toMatchObject({
      possiblyDelivered: false,
      ownDevicesUncertain: true,
      warnings: [{ kind: 'delivery-uncertain', from: `${ALICE.userId}@${ORG}` }],
    });
    stub.pending = [toBob];
    const text = await runOn(['--discard', '--yes'], stub);
    expect(text.code, text.err).toBe(0);
    expect(text.out).not.toContain('possibly delivered');
    expect(text.out).toContain('Stored as sent: the server confirmed it for a recipient, who has it.');
    expect(text.out).toContain('The copy to your own other devices may or may not have arrived');
    // Bob's uncertain too: possibly delivered, and the own copy still said apart.
    stub.pending = [toBob];
    stub.outcome = { event: sent, warnings: [uncertainBob, uncertainOwn] };
    const both = JSON.parse((await runOn(['--discard', '--yes', '--json'], stub)).out) as unknown;
    expect(both).toMatchObject({ possiblyDelivered: true, ownDevicesUncertain: true });
  });

  it('asks on the terminal: a no keeps the send (NOT_DISCARDED); a send completed while asked is not replaced by the next (PENDING_CHANGED)', async () => {
    const stub = new PendingStub([toBob, toGroup], { event: sent, warnings: [uncertainBob] });
    const declined = await runOn(['--discard', '--json'], stub, 'n\n');
    expect(declined.err).toMatch(
      /^Discard a message to Bob since .*If a try of it may have reached the server.*otherwise it is dropped \(delivery-failed\)\. \[y\/N\] custos pending: nothing discarded/,
    );
    expect(declined.code).toBe(1);
    expect(JSON.parse(declined.out)).toMatchObject({ error: { code: 'NOT_DISCARDED' } });
    expect(stub.pendingSends()).toEqual([toBob, toGroup]);
    // Bob's send completes (a sync of this process) while the user reads the question: the
    // yes was for it, not for the group reaction now oldest.
    const changed = await runOn(['--discard', '--json'], stub, 'y\n', () => stub.pending.shift());
    expect(changed.code).toBe(1);
    expect(JSON.parse(changed.out)).toMatchObject({
      error: { code: 'PENDING_CHANGED', message: expect.stringMatching(/Run 'custos pending' again/) },
    });
    expect(stub.pendingSends()).toEqual([toGroup]);
    expect(stub.discarded).toEqual([]);
    expect(stub.uploads).toBe(0);
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
