import { createHash } from 'node:crypto';
import { existsSync, rmSync, writeFileSync } from 'node:fs';
import { createServer } from 'node:net';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import {
  ClientError,
  LocalStore,
  profilePaths,
  type GroupChangeSummary,
  type MessageEvent,
  type PendingSendInfo,
  type StoredMessage,
} from '@custos/client';
import { ConsoleError, ExportError } from '@custos/console';
import { AddressBook, checkContactName, formatAddress, parseAddress } from './address-book.js';
import type { CliIo } from './cli.js';
import { parseCommandLine, UsageError } from './command-flags.js';
import { CliFailure, explainFailure, reportFailure } from './command-runner.js';
import { chatFailureLine, parseChatLine } from './commands/chat.js';
import { identityKeyFingerprint } from './commands/devices.js';
import { groupLine } from './commands/group.js';
import { groupDigits } from './commands/safety-number.js';
import { safeFileName } from './commands/sync.js';
import {
  describeEvent,
  describeUnnamed,
  eventJson,
  resolveMessageId,
  unnamedSenders,
} from './message-format.js';
import { blockedInUserTerms, describeWarning, pendingSendLines, warningJson } from './warning-display.js';
import { memorySettings } from './testing/memory-settings.js';
import { cli, testFolder } from './testing/run-cli.js';

const dir = testFolder('custos-cli-dev-');

const ORG = 'O'.repeat(22);
const BOB = { orgId: ORG, userId: 'B'.repeat(21) + 'b' };
const BOBBY = { orgId: ORG, userId: 'B'.repeat(21) + 'y' };
const ALICE = { orgId: ORG, userId: 'A'.repeat(22) };

describe('command lines', () => {
  it('keeps positionals in order, takes a string flag value even if it starts with a dash, and stops at --', () => {
    const spec = { to: 'string', json: 'boolean' } as const;
    const a = parseCommandLine(['--to', 'bob', 'hello', '--json'], spec, 1);
    expect(a.positionals).toEqual(['hello']);
    expect(a.flags.get('to')).toBe('bob');
    expect(parseCommandLine(['--to', 'bob', '--', '--not-a-flag'], spec, 1).positionals).toEqual([
      '--not-a-flag',
    ]);
    expect(parseCommandLine(['--to=-x'], spec, 0).flags.get('to')).toBe('-x');
    expect(() => parseCommandLine(['a', 'b'], spec, 1)).toThrow(/too many arguments \(from 'b'\)/);
    expect(() => parseCommandLine(['a'], spec, 0)).toThrow(/unexpected argument 'a'/);
    expect(() => parseCommandLine(['--colour'], spec, 0)).toThrow(UsageError);
    expect(() => parseCommandLine(['--to'], spec, 0)).toThrow(/--to needs a value/);
  });

  it('takes ids that start with dashes as values, with or without =, but not another option', () => {
    const spec = { to: 'string', device: 'string', json: 'boolean' } as const;
    for (const id of ['-abcdefghijklmnopqrstu', '--bcdefghijklmnopqrstu', '---cdefghijklmnopqrst', '-']) {
      expect(parseCommandLine(['--device', id, '--json'], spec, 0).flags.get('device')).toBe(id);
      expect(parseCommandLine([`--device=${id}`], spec, 0).flags.get('device')).toBe(id);
      const address = `${id}@${'O'.repeat(22)}`;
      expect(parseCommandLine(['--to', address, '--device', id], spec, 0).flags.get('to')).toBe(address);
    }
    // A forgotten value is still caught when the next argument is an option of the command.
    for (const next of ['--json', '--device', '--device=x', '--help', '--'])
      expect(() => parseCommandLine(['--to', next], spec, 1)).toThrow(/--to needs a value/);
    expect(parseCommandLine(['--to=--json'], spec, 0).flags.get('to')).toBe('--json');
  });

  it('every device command has --help naming --profile, and custos help lists them', async () => {
    const help = (await cli(['help'])).out;
    for (const c of [
      'enroll',
      'send',
      'sync',
      'pending',
      'chat',
      'contacts',
      'safety-number',
      'devices',
      'archive',
      'admin',
      'group',
    ]) {
      expect(help).toContain(c);
      const r = await cli([c, '--help']);
      expect(r.code, c).toBe(0);
      expect(r.out, c).toContain('--profile DIR');
      // Each option is described once (enroll listed --passphrase-file twice, with two meanings).
      const described = [...r.out.matchAll(/^ {2}(--[a-z-]+)/gm)].map((m) => m[1]);
      expect(described, c).toEqual([...new Set(described)]);
    }
  });

  it('a failed enroll leaves alone a profile another process made meanwhile', async () => {
    // Half an enrolment by another process: its storage key is written, its database not yet
    // (hasProfile still says no), so this run's create finds the key and stops: PROFILE_EXISTS.
    const other = join(dir, 'enrolling-elsewhere');
    const made = LocalStore.create(other, { kind: 'file' });
    made.close();
    rmSync(profilePaths(other).db);
    const code = `ce1.${ORG}.${'s'.repeat(43)}.${'f'.repeat(43)}`;
    const r = await cli([
      'enroll',
      code,
      '--server',
      'http://127.0.0.1:9',
      '--unattended',
      '--profile',
      other,
    ]);
    expect([r.code, r.err]).toEqual([1, expect.stringContaining('that folder already holds a profile')]);
    expect(existsSync(profilePaths(other).key)).toBe(true);
  });

  it('custos help names every command the dispatcher runs, and what org unlock does', async () => {
    const help = (await cli(['help'])).out;
    for (const c of ['server', 'doctor', 'demo', 'verify log', 'verify witness-key', 'verify PATH'])
      expect(help).toContain(c);
    for (const act of ['re-issue', 'rotate the key-manager key', 'root archive key'])
      expect(help).toContain(act);
  });

  it('exits 2 naming the mistake for unknown flags, subcommands and missing arguments', async () => {
    const cases: [string[], RegExp][] = [
      [
        ['send', '--to', 'bob', '--colour', 'red', 'hi'],
        /custos send: unknown option --colour\. Run 'custos send --help'/,
      ],
      [['send', 'hi'], /give --to USER or --group GROUP/],
      [['sync', 'extra'], /unexpected argument 'extra'/],
      [
        ['admin', 'frobnicate'],
        /unknown subcommand 'frobnicate'; available: invite, code, users, devices, revoke/,
      ],
      [['admin'], /a subcommand is needed/],
      [['admin', 'code'], /the user is missing: give their name or address/],
      [['enroll', '--server', 'http://127.0.0.1:9'], /the enrolment code is missing/],
      [['enroll', 'ce1.x', '--admin-profile', 'p.json'], /give CODE or --admin-profile, not both/],
      [['devices', 'explode'], /unknown subcommand 'explode'; available: list, link, revoke/],
      [['devices'], /a subcommand is needed: list, link, revoke/],
      [['devices', 'revoke'], /the DEVICE id is missing/],
      [['devices', 'link', 'extra'], /unexpected argument 'extra'/],
      [['devices', 'list', '--ttl', '600'], /--ttl does not apply to 'devices list'/],
      [['devices', 'link', '--allow-hand-in'], /--allow-hand-in does not apply to 'devices link'/],
      [['devices', 'link', '--ttl', '59'], /--ttl must be a number of seconds from 60 to 3600/],
      [['devices', 'link', '--ttl', '1e3'], /--ttl must be a number of seconds from 60 to 3600/],
      [
        ['enroll', 'ce1.x', '--server', 'http://127.0.0.1:9', '--retention', 'permanent'],
        /unknown option --retention/,
      ],
      [['archive'], /a subcommand is needed: status/],
      // Checked before the profile is opened: no profile (or passphrase) is needed to hear of them.
      [['contacts', 'explode'], /unknown subcommand 'explode'; available: add, remove/],
      [['contacts', 'add', 'bob'], /give NAME and ADDRESS/],
      [['contacts', 'remove'], /give one NAME/],
      [['group'], /a subcommand is needed: list, create, add, remove, leave, rename/],
      [['group', 'explode'], /unknown subcommand 'explode'/],
      [['group', 'create', 'Team'], /'group create' needs a NAME and at least one MEMBER/],
      [['group', 'leave', 'g.x', 'extra'], /unexpected argument 'extra'/],
      [['group', 'rename', 'g.x', 'New', 'Name'], /put a NAME with spaces in quotes/],
      [['frob'], /unknown command 'frob'/],
    ];
    for (const [args, message] of cases) {
      const r = await cli(args);
      expect(r.code, args.join(' ')).toBe(2);
      expect(r.err, args.join(' ')).toMatch(message);
    }
  });

  it('a missing profile says how to enrol (and --json also prints the error as JSON)', async () => {
    const profile = join(dir, 'nothing-here');
    const r = await cli(['sync', '--profile', profile, '--json']);
    expect(r.code).toBe(1);
    expect(r.err).toContain(`no profile in ${profile}: enrol one with 'custos enroll CODE --server URL`);
    expect(JSON.parse(r.out)).toMatchObject({ error: { code: 'NO_PROFILE' } });
  });

  it('an unreachable server fails enrolment clearly and leaves no half-made profile', async () => {
    const profile = join(dir, 'unreachable');
    const code = `ce1.${ORG}.${'s'.repeat(43)}.${'f'.repeat(43)}`;
    const r = await cli([
      'enroll',
      code,
      '--server',
      'http://127.0.0.1:9',
      '--profile',
      profile,
      '--unattended',
    ]);
    expect(r.code).toBe(1);
    expect(r.err).toMatch(/cannot reach the server .*check that it is running/);
    expect(existsSync(profile)).toBe(false);
  });

  it('refuses a short passphrase from a file before creating anything', async () => {
    const pp = join(dir, 'short.pass');
    writeFileSync(pp, 'short\n', { mode: 0o600 });
    const profile = join(dir, 'short');
    const r = await cli([
      'enroll',
      'ce1.x',
      '--server',
      'http://127.0.0.1:9',
      '--profile',
      profile,
      '--passphrase-file',
      pp,
    ]);
    expect(r.code).toBe(1);
    expect(r.err).toMatch(/at least 12 characters/);
    expect(r.err).not.toContain('short\n');
    expect(existsSync(profile)).toBe(false);
  });
});

describe('address book', () => {
  it('resolves names (ignoring case), unique prefixes and addresses', () => {
    const book = new AddressBook(memorySettings());
    book.add('Bob', BOB);
    book.add('Bobby', BOBBY);
    book.add('alice', ALICE);
    expect(book.resolve('bob')).toEqual(BOB);
    expect(book.resolve('BOBBY')).toEqual(BOBBY);
    expect(book.resolve('al')).toEqual(ALICE);
    expect(book.resolve(formatAddress(BOB))).toEqual(BOB);
    expect(parseAddress(formatAddress(ALICE))).toEqual(ALICE);
    expect(book.label(BOBBY)).toBe('Bobby');
  });

  it('says what to do for unknown and ambiguous names, and refuses a taken name', () => {
    const book = new AddressBook(memorySettings());
    expect(() => book.resolve('carol')).toThrow(
      /no contact named 'carol' \(the address book is empty\)\. Add one with 'custos contacts add carol USERID@ORGID'/,
    );
    book.add('Bob', BOB);
    book.add('Bobby', BOBBY);
    expect(() => book.resolve('Bo')).toThrow(/'Bo' matches several contacts \(Bob, Bobby\)/);
    expect(() => book.resolve('carol')).toThrow(/known: Bob, Bobby/);
    expect(() => book.add('bob', ALICE)).toThrow(/already used for/);
    expect(book.add('Bob', BOB).address).toBe(formatAddress(BOB));
    expect(book.remove('bob').name).toBe('Bob');
    expect(book.list().map((e) => e.name)).toEqual(['Bobby']);
  });

  it('checks names and addresses', () => {
    for (const bad of ['', 'a@b', '-x', 'tab\there', 'x'.repeat(65)])
      expect(() => checkContactName(bad)).toThrow(CliFailure);
    expect(checkContactName('  Zoë  ')).toBe('Zoë');
    for (const bad of ['bob', `${BOB.userId}@short`, `${BOB.userId}@${ORG}x`, `@${ORG}`])
      expect(parseAddress(bad)).toBeUndefined();
  });
});

describe('failures in words', () => {
  it('maps client errors to what to do, without echoing secrets', () => {
    const say = (e: unknown) => explainFailure(e, 'send');
    expect(say(new ClientError('STORE_LOCKED', 'x')).message).toMatch(/wrong passphrase/);
    const pending = say(
      new ClientError('SEND_PENDING', 'the server could not be reached: the message is kept'),
    );
    expect(pending.message).toMatch(/^not confirmed yet: .*message is kept\. Run 'custos sync'/);
    expect(pending).toMatchObject({ code: 'SEND_PENDING', exit: 1 });
    expect(pending.message).not.toMatch(/send again/);
    // The server could not be reached: nothing was sent, which the words say (not "not confirmed").
    const unreached = say(
      new ClientError('SEND_PENDING', 'the server could not be reached (ECONNREFUSED): nothing was sent', {
        notSent: true,
      }),
    );
    expect(unreached.message).toMatch(
      /^not sent yet: the server could not be reached \(ECONNREFUSED\): nothing was sent\. Once the server is back, run 'custos sync'/,
    );
    const blocked = say(
      new ClientError('SEND_BLOCKED', 'not sent: an earlier message to u is still pending'),
    );
    expect(blocked.message).toMatch(/still pending\. Run 'custos sync' to finish the earlier send first/);
    // The server may keep failing it: the user is told how to see it and give up on it.
    // Possibly delivered only when a try may have reached the server: otherwise dropped.
    expect(blocked.message).toMatch(
      /'custos pending' shows it and 'custos pending --discard' gives up on it \(recorded as possibly delivered if a try may have reached the server, else dropped\)$/,
    );
    expect(blocked).toMatchObject({ code: 'SEND_BLOCKED', exit: 1 });
    // In chat the profile is in use until it quits (one process per profile: PROFILE_IN_USE).
    const inChat = explainFailure(
      new ClientError('SEND_BLOCKED', 'not sent: an earlier message to u is still pending'),
      'chat',
    );
    expect(inChat.message).toMatch(/still pending\. Quit this chat \(\/quit\), then run 'custos sync'/);
    // One process per profile, enforced: the user is told who holds it and what to do.
    const inUse = say(
      new ClientError(
        'PROFILE_IN_USE',
        'another Custos process (for example `custos chat`) has this profile open',
      ),
    );
    expect(inUse).toMatchObject({ code: 'PROFILE_IN_USE', exit: 1 });
    expect(inUse.message).toMatch(
      /^this profile is in use: another custos process has it open \(a 'custos chat' in another terminal, say\)\. Quit it \(\/quit in chat\) or let it finish, then run this command again$/,
    );
    const changed = say(new ClientError('PENDING_CHANGED', 'the oldest pending send is no longer the one'));
    expect(changed).toMatchObject({ code: 'PENDING_CHANGED', exit: 1 });
    expect(changed.message).toMatch(/Run 'custos pending' again/);
    const book = new AddressBook(memorySettings());
    book.add('Bob', BOB);
    const pendingLines = pendingSendLines(
      [
        {
          id: 'm1',
          conversation: 'dm.x',
          kind: 'message',
          recipients: [BOB],
          since: 0,
          tries: 3,
          unreached: 0,
        },
      ],
      book,
      () => undefined,
    );
    expect(pendingLines).toHaveLength(1);
    expect(pendingLines[0]).toMatch(
      /^Still pending: a message to Bob since .* \(3 failed tries\); later sends wait for it\. 'custos sync' sends it again/,
    );
    expect(pendingLines[0]).toMatch(
      /if it keeps failing, 'custos pending --discard' gives up on the oldest\.$/,
    );
    expect(say(new ClientError('NETWORK', 'GET /v1/messages: the server did not answer')).message).toMatch(
      /cannot reach the server/,
    );
    const revoked = new ClientError('SERVER_REFUSED', 'revoked', {
      server: { status: 403, code: 'DEVICE_REVOKED' },
    });
    expect(say(revoked)).toMatchObject({ code: 'DEVICE_REVOKED', exit: 1 });
    expect(say(revoked).message).toMatch(/enrol a new profile/);
    const used = new ClientError('SERVER_REFUSED', 'used', {
      server: { status: 409, code: 'ENROLMENT_CODE_USED' },
    });
    expect(say(used).message).toMatch(/ask an administrator for a new one/);
    expect(say(new UsageError('bad')).exit).toBe(2);
    expect(say(new Error('disk full')).message).toBe('failed: disk full');
  });

  it('names the send a SEND_BLOCKED waits for as the user knows it: contact or group name, time, tries', () => {
    const book = new AddressBook(memorySettings());
    book.add('Bob', BOB);
    const since = Date.UTC(2026, 10, 28, 3, 41);
    const toBob = {
      id: 'm1',
      conversation: 'dm.x',
      kind: 'message',
      recipients: [BOB],
      since,
      tries: 2,
      unreached: 0,
    } as const;
    // As the SDK words it: ids (`<org>.<user>`) and minutes.
    const sdkWords = `not sent: an earlier message to ${ORG}.${BOB.userId} is still pending (for 5 min, 2 failed tries)`;
    const sdk = (pending: PendingSendInfo) => new ClientError('SEND_BLOCKED', sdkWords, { pending });
    const groupName = (id: string) => (id === 'g.team' ? 'Team' : undefined);
    const worded = blockedInUserTerms(sdk(toBob), book, groupName);
    expect(worded).toMatchObject({ code: 'SEND_BLOCKED', pending: toBob });
    const said = explainFailure(worded, 'send');
    expect(said).toMatchObject({ code: 'SEND_BLOCKED', exit: 1 });
    expect(said.message).toMatch(
      /^not sent: an earlier message to Bob since 2026-11-28 03:41 UTC \(2 failed tries\) is still pending\. Run 'custos sync' to finish the earlier send first, then send this one again\. If the server keeps failing it, 'custos pending' shows it and 'custos pending --discard' gives up on it/,
    );
    expect(said.message).not.toContain(BOB.userId);
    // A group send by the group's name; an edit with its article.
    const toTeam = { ...toBob, kind: 'edit', group: 'g.team', recipients: [BOB, ALICE] } as const;
    expect(explainFailure(blockedInUserTerms(sdk(toTeam), book, groupName), 'send').message).toMatch(
      /^not sent: an earlier edit to group Team since 2026-11-28 03:41 UTC \(2 failed tries\) is still pending\./,
    );
    // Anything else passes through unchanged.
    const other = new ClientError('SEND_PENDING', 'kept');
    expect(blockedInUserTerms(other, book, groupName)).toBe(other);
  });

  it("says why a request failed: node's code, an untrusted certificate, a timeout", async () => {
    // A port that was just free: nothing listens there any more.
    const probe = createServer();
    await new Promise<void>((r) => probe.listen(0, '127.0.0.1', r));
    const { port } = probe.address() as { port: number };
    await new Promise((r) => probe.close(r));
    const refused: unknown = await fetch(`http://127.0.0.1:${port}/`).catch((x: unknown) => x);
    const network = (cause: unknown) =>
      new ClientError('NETWORK', 'GET /v1/x: the request failed', { cause });
    expect(explainFailure(network(refused), 'sync').message).toBe(
      'cannot reach the server (GET /v1/x: the request failed): ECONNREFUSED: check that it is running and that the address is right',
    );
    const untrusted = new TypeError('fetch failed', {
      cause: Object.assign(new Error('self-signed certificate'), { code: 'DEPTH_ZERO_SELF_SIGNED_CERT' }),
    });
    const unreachable = new ConsoleError('SERVER_UNREACHABLE', 'cannot reach the server at https://c.test', {
      cause: untrusted,
    });
    for (const said of [
      explainFailure(network(untrusted), 'sync'),
      explainFailure(unreachable, 'verify log'),
    ]) {
      expect(said.message).toMatch(
        /: its TLS certificate is not trusted here \(DEPTH_ZERO_SELF_SIGNED_CERT\): use a certificate from a CA .*NODE_EXTRA_CA_CERTS=ca\.pem/,
      );
      expect(said.message).not.toMatch(/check that it is running/);
    }
    expect(explainFailure(unreachable, 'verify log').code).toBe('SERVER_UNREACHABLE');
    const timedOut = network(new DOMException('The operation was aborted due to timeout', 'TimeoutError'));
    expect(explainFailure(timedOut, 'sync').message).toMatch(
      /: no answer before the timeout: check that it is running/,
    );
    // Nothing more to say than the error itself: no repetition.
    expect(
      explainFailure(new ClientError('NETWORK', 'the server URL must be http:// or https://'), 'x').message,
    ).toBe(
      'cannot reach the server (the server URL must be http:// or https://): check that it is running and that the address is right',
    );
  });

  it('maps console errors: bad options are usage errors (exit 2), others keep their code', () => {
    const say = (e: unknown) => explainFailure(e, 'verify log');
    expect(say(new ConsoleError('INVALID_OPTIONS', '--limit must be 1–100'))).toEqual({
      code: 'USAGE',
      message: "--limit must be 1–100. Run 'custos verify log --help'.",
      exit: 2,
    });
    expect(say(new ConsoleError('LOG_FORK', 'the log forked'))).toEqual({
      code: 'LOG_FORK',
      message: 'LOG_FORK: the log forked',
      exit: 1,
    });
    const refused = new ConsoleError('SERVER_REFUSED', 'refused', { serverCode: 'ROLE_FORBIDDEN' });
    expect(say(refused)).toMatchObject({ code: 'ROLE_FORBIDDEN', exit: 1 });
    // An export that does not verify keeps its own code and words (custos console export).
    expect(say(new ExportError('PROOF_INVALID', 'record 3: the proof does not verify'))).toEqual({
      code: 'PROOF_INVALID',
      message: 'record 3: the proof does not verify',
      exit: 1,
    });
    // Only the real classes are recognised, not any error with a code.
    expect(say(Object.assign(new Error('x'), { code: 'LOG_FORK' }))).toMatchObject({
      code: 'LOG_FORK',
      message: 'failed: LOG_FORK: x',
    });
  });

  it('reports a failure on stderr, and with --json also as an error object on stdout', () => {
    let out = '';
    let err = '';
    const io = {
      stdout: { write: (s: string) => (out += s) },
      stderr: { write: (s: string) => (err += s) },
    } as unknown as CliIo;
    expect(reportFailure(new CliFailure('NO_PROFILE', 'no profile'), 'sync', io, false)).toBe(1);
    expect([out, err]).toEqual(['', 'custos sync: no profile\n']);
    err = '';
    expect(reportFailure(new UsageError('--x given twice'), 'org create', io, true)).toBe(2);
    expect(err).toBe("custos org create: --x given twice. Run 'custos org create --help'.\n");
    expect(JSON.parse(out)).toEqual({
      error: { code: 'USAGE', message: "--x given twice. Run 'custos org create --help'." },
    });
  });
});

describe('output', () => {
  const msg = (over: Partial<MessageEvent['content']> = {}): MessageEvent => ({
    content: {
      id: 'abcdefgh12345678901234',
      timestamp: Date.UTC(2026, 0, 2, 3, 4),
      kind: 'message',
      text: 'hi',
      ...over,
    },
    from: ALICE,
    peer: ALICE,
    direction: 'received',
    archiveSeq: 7,
    conversation: 'dm.x',
  });

  it('lists a group\'s members by name, this profile\'s user as "you"', () => {
    const book = new AddressBook(memorySettings());
    const bob = { orgId: ALICE.orgId, userId: 'B'.repeat(22) };
    const me = { orgId: ALICE.orgId, userId: 'M'.repeat(22) };
    book.add('alice', ALICE);
    const g = { id: 'g.x', name: 'Ops', members: [me, ALICE, bob], revision: 1, active: true };
    expect(groupLine(g, book, me)).toBe(`g.x  "Ops"  3 members: you, alice, ${formatAddress(bob)}`);
    // A group's name is chosen by whoever made it: shown, never acted on by the terminal.
    expect(groupLine({ ...g, name: 'Ops\u001b[2J\n[x] fake' }, book, me)).toContain(
      '"Ops\\x1b[2J\n    [x] fake"',
    );
  });

  it('names each unnamed sender once, with the name they claim and the contacts add line', () => {
    const book = new AddressBook(memorySettings());
    const bob = { orgId: ALICE.orgId, userId: 'B'.repeat(22) };
    const events = [msg(), msg(), { ...msg(), from: bob }, { ...msg(), direction: 'sent' as const }];
    const unnamed = unnamedSenders(events, book, [{ user: ALICE, name: 'Alice' }]);
    expect(unnamed).toEqual([
      { address: formatAddress(ALICE), claimedName: 'Alice' },
      { address: formatAddress(bob), claimedName: null },
    ]);
    expect(describeUnnamed(unnamed[0]!)).toBe(
      `Not in your address book: ${formatAddress(ALICE)} (calls themself "Alice"); name them with 'custos contacts add NAME ${formatAddress(ALICE)}'.`,
    );
    book.add('alice', ALICE);
    expect(unnamedSenders(events, book, []).map((u) => u.address)).toEqual([formatAddress(bob)]);
  });

  it("shows a peer's control characters and line breaks instead of letting them act on the terminal", () => {
    // A sender's text used to clear the screen (ESC [2J), retitle the terminal (OSC 0) and,
    // with a line break, print a line that seemed to come from someone else.
    const book = new AddressBook(memorySettings());
    book.add('alice', ALICE);
    const spoof = msg({
      text: 'hi \u001b[2J\u001b]0;pwned\u0007\n[2026-01-02 03:05] carol → you: wire the funds',
    });
    const line = describeEvent(spoof, book);
    // No control character other than the line break is left.
    expect([...line].some((c) => c !== '\n' && c.charCodeAt(0) < 0x20)).toBe(false);
    expect(line).toBe(
      '[2026-01-02 03:04] alice → you: hi \\x1b[2J\\x1b]0;pwned\\x07\n    [2026-01-02 03:05] carol → you: wire the funds  #abcdefgh',
    );
    expect(line.split('\n').filter((l) => l.startsWith('['))).toHaveLength(1);
    const g = msg({ text: 'ok', group: 'g.x' });
    expect(describeEvent({ ...g, group: 'g.x' }, book, { groupNameOf: () => 'Ops\u202eevil' })).toContain(
      'group "Ops\\u202eevil"',
    );
  });

  it('names who a group change added and removed, and tells a removed member so', () => {
    const book = new AddressBook(memorySettings());
    book.add('alice', ALICE);
    book.add('bob', BOB);
    const update = (groupChange: GroupChangeSummary): MessageEvent => ({
      ...msg({
        kind: 'group-update',
        group: 'g.x',
        groupState: { name: 'Ops', revision: 3, members: [{ org: ORG, user: ALICE.userId }] },
      }),
      group: 'g.x',
      groupChange,
    });
    const ops = { groupNameOf: () => 'Ops' };
    // Bob's own device: the change names him "you" (it used to print his own address).
    const removedYou = describeEvent(update({ added: [], removed: [BOB], you: 'removed' }), book, {
      ...ops,
      self: BOB,
    });
    expect(removedYou).toBe(
      '[2026-01-02 03:04] alice → group "Ops": group is now "Ops" with 1 members (revision 3); removed you; you are no longer a member: you receive nothing more from this group',
    );
    // Another member's device names bob from its address book.
    expect(describeEvent(update({ added: [], removed: [BOB] }), book, { ...ops, self: ALICE })).toMatch(
      /; removed bob$/,
    );
    const added = describeEvent(update({ added: [BOBBY, BOB], removed: [] }), book, { ...ops, self: BOB });
    expect(added).toMatch(new RegExp(`; added ${BOBBY.userId}@${ORG}, you$`));
    expect(eventJson(update({ added: [], removed: [BOB], you: 'removed' }), book)).toMatchObject({
      groupChange: { added: [], removed: [`${BOB.userId}@${ORG}`], you: 'removed' },
    });
  });

  it("shows an edit or delete of someone else's message as the ignored attempt it is", () => {
    // Devices apply only the sender's changes; sync used to print "alice → you: edited #…"
    // although bob's message stayed as it was.
    const book = new AddressBook(memorySettings());
    book.add('alice', ALICE);
    const bob = { orgId: ALICE.orgId, userId: 'B'.repeat(22) };
    book.add('bob', bob);
    const target = 'zzzzzzzzzzzzzzzzzzzzzz';
    const senderOf = (id: string) => (id === target ? bob : undefined);
    expect(describeEvent(msg({ kind: 'edit', edits: target, text: 'x' }), book, { senderOf })).toBe(
      '[2026-01-02 03:04] alice → you: tried to edit #zzzzzzzz, which bob sent (ignored: only its sender may edit it)',
    );
    expect(describeEvent(msg({ kind: 'delete', deletes: target }), book, { senderOf })).toMatch(
      /tried to delete #zzzzzzzz, which bob sent \(ignored/,
    );
    // Alice's edit of her own message, or of one this device does not hold, reads as before.
    const own = (id: string) => (id === target ? ALICE : undefined);
    expect(describeEvent(msg({ kind: 'edit', edits: target, text: 'x' }), book, { senderOf: own })).toBe(
      '[2026-01-02 03:04] alice → you: edited #zzzzzzzz: x',
    );
    expect(describeEvent(msg({ kind: 'edit', edits: target, text: 'x' }), book)).toContain(
      'edited #zzzzzzzz: x',
    );
  });

  it('describes events with names, short ids, attachments and timers', () => {
    const book = new AddressBook(memorySettings());
    book.add('alice', ALICE);
    expect(describeEvent(msg(), book)).toBe('[2026-01-02 03:04] alice → you: hi  #abcdefgh');
    expect(describeEvent(msg({ kind: 'reaction', reactsTo: 'zzzzzzzzzz', emoji: '👍' }), book)).toMatch(
      /reacted 👍 to #zzzzzzzz$/,
    );
    const withFile = msg({
      attachments: [
        {
          blobId: 'b',
          key: new Uint8Array(32),
          digest: new Uint8Array(32),
          size: 12,
          contentType: 'text/plain',
          fileName: 'a.txt',
        },
      ],
      timer: 30,
    });
    expect(describeEvent(withFile, book)).toContain('[file: a.txt, 12 bytes]  (disappears after 30 s)');
    const json = eventJson(withFile, book);
    expect(json).toMatchObject({
      fromName: 'alice',
      archiveSeq: 7,
      attachments: [{ fileName: 'a.txt', size: 12 }],
    });
    expect(JSON.stringify(json)).not.toContain('"key"');
  });

  it('resolves message id prefixes among a conversation', () => {
    const stored = (id: string) => ({ id }) as StoredMessage;
    const list = [stored('abcd1111'), stored('abcd2222'), stored('zzzz0000')];
    expect(resolveMessageId(list, 'zzzz')).toBe('zzzz0000');
    expect(resolveMessageId(list, 'abcd1')).toBe('abcd1111');
    expect(() => resolveMessageId(list, 'abcd')).toThrow(/matches 2 messages/);
    expect(() => resolveMessageId(list, 'ab')).toThrow(/at least 4 characters/);
    expect(() => resolveMessageId(list, 'qqqq')).toThrow(/run 'custos sync'/);
  });

  it('fingerprints a device identity key as base64url SHA-256 of its bytes', () => {
    const key = new Uint8Array(33).fill(5);
    const fp = identityKeyFingerprint(key);
    expect(fp).toMatch(/^[A-Za-z0-9_-]{43}$/);
    expect(fp).toBe(createHash('sha256').update(key).digest('base64url'));
    key[32] = 6;
    expect(identityKeyFingerprint(key)).not.toBe(fp);
  });

  it('parses chat lines and groups safety-number digits', () => {
    const id = (x: string) => `full-${x}`;
    expect(parseChatLine('hello', id)).toEqual({ kind: 'message', text: 'hello' });
    expect(parseChatLine('  ', id)).toBeUndefined();
    expect(parseChatLine('/quit', id)).toBe('quit');
    expect(parseChatLine('/reply ab12 sure thing', id)).toEqual({
      kind: 'message',
      text: 'sure thing',
      replyTo: 'full-ab12',
    });
    expect(parseChatLine('/react ab12 👍', id)).toEqual({
      kind: 'reaction',
      reactsTo: 'full-ab12',
      emoji: '👍',
    });
    expect(() => parseChatLine('/edit ab12', id)).toThrow(/usage: \/edit ID TEXT/);
    expect(() => parseChatLine('/nope', id)).toThrow(/unknown command \/nope/);
    const typo = new CliFailure('CHAT_USAGE', 'unknown command /nope; /help lists them');
    expect(chatFailureLine(typo, false)).toMatch(/^custos chat: unknown command \/nope/);
    expect(JSON.parse(chatFailureLine(typo, true))).toMatchObject({ error: { code: 'CHAT_USAGE' } });
    expect(groupDigits('1234567890123')).toBe('12345 67890 123');
  });

  it('never writes an attachment outside the chosen folder', () => {
    expect(safeFileName('../../etc/passwd', 'f')).toBe('passwd');
    expect(safeFileName('..', 'f')).toBe('f');
    expect(safeFileName('a\u0000b.txt', 'f')).toBe('a_b.txt');
    expect(safeFileName(undefined, 'f')).toBe('f');
  });

  it('an identity change warning says how to compare and accept', () => {
    const book = new AddressBook(memorySettings());
    book.add('bob', BOB);
    const w = {
      seq: 1,
      at: 0,
      kind: 'identity-changed' as const,
      from: `${BOB.orgId}.${BOB.userId}`,
      detail: 'refused',
    };
    const lines = describeWarning(w, book).join('\n');
    expect(lines).toMatch(/^WARNING \[1970-01-01 00:00\]: the identity key of a device of bob changed/);
    expect(lines).toContain("'custos safety-number bob'");
    expect(lines).toContain("'custos safety-number bob --accept'");
    expect(warningJson(w, book)).toMatchObject({ seq: 1, from: formatAddress(BOB), fromName: 'bob' });
  });

  it('a device added to the account is a WARNING that says how to see and revoke devices', () => {
    const w = {
      seq: 2,
      at: 0,
      kind: 'own-device-added' as const,
      from: `${BOB.orgId}.${BOB.userId}`,
      detail:
        "a new device (#3) was added to your account on 1970-01-01 00:00 UTC; if it was not you, revoke it ('custos devices revoke') and tell your security officer",
    };
    expect(describeWarning(w, new AddressBook(memorySettings()))).toEqual([
      "WARNING [1970-01-01 00:00]: a new device (#3) was added to your account on 1970-01-01 00:00 UTC; if it was not you, revoke it ('custos devices revoke') and tell your security officer.",
      "  'custos devices list' shows your devices and their keys; 'custos devices revoke DEVICE' removes one.",
    ]);
  });
});
