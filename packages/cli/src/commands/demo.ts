/**
 * `custos demo`: the whole system in a temporary folder, in one process. An embedded server;
 * "Example Agency" created by the key ceremony (3 officers, any 2 recover) with alice and
 * bob; "Partner Agency" (a second ceremony on a second bootstrap token) with carol. They play
 * a conversation — 1:1, a cross-organisation group, an attachment, an edit, a delete, a
 * reaction and a disappearing message — then every device shows what it saw and its archive
 * status with verified receipts. Then officer 1 of Example Agency (whose console device was
 * enrolled, and index keys sealed, before the conversation) searches, places a hold, exports
 * the group as RSMF, verifies the export offline and checks completeness (demo-officer.ts).
 */
import { mkdtempSync, readFileSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { basename, join } from 'node:path';
import { PassThrough } from 'node:stream';
import { CustosClient, type MessageEvent, type PeerUser } from '@custos/client';
import { runCeremony } from '@custos/console';
import { issueBootstrapTokenIn, loadConfig, startServer } from '@custos/server';
import type { CliIo } from '../cli.js';
import { AddressBook, formatAddress } from '../address-book.js';
import { runCommand, type CommandContext } from '../command-runner.js';
import { readAdminProfile } from './enroll.js';
import { describeEvent, describeStored, eventJson } from '../message-format.js';
import { flushAndVerify, PROOF_WAIT_MS } from './sync.js';
import {
  demoOfficerPassphrases,
  runDemoOfficerAct,
  setUpDemoOfficer,
  type DemoOfficer,
} from './demo-officer.js';

const USAGE = `Usage: custos demo [--keep] [--json]

Runs Custos end to end in a temporary folder: an embedded server, two organisations made by
the key ceremony, three people, and a conversation with a group, an attachment, an edit, a
delete, a reaction and a disappearing message. Prints what each device saw and each device's
archive status with its verified receipts. Then a records officer searches the archive,
places a legal hold, exports the group as RSMF, verifies the export offline ('custos verify')
and checks completeness. Nothing outside the temporary folder is touched; the officers'
passphrases are generated and kept there (officer-passphrases/, mode 0600), never printed.

  --keep    keep the temporary folder (its path is printed) instead of removing it
  --json    machine-readable summary on stdout
  --help    this text
`;

const FLAGS = { keep: 'boolean', json: 'boolean', help: 'boolean' } as const;
/** Seconds of the disappearing-message timer in the demo. */
const DEMO_TIMER_SECONDS = 5;

interface Person {
  readonly name: string;
  readonly client: CustosClient;
  readonly book: AddressBook;
  readonly seen: MessageEvent[];
}

async function demo(ctx: CommandContext): Promise<number> {
  const dir = mkdtempSync(join(tmpdir(), 'custos-demo-'));
  const say = (line: string): void => ctx.note(`demo: ${line}`);
  const quiet = { stdout: new PassThrough().resume(), stderr: new PassThrough().resume() };
  const config = loadConfig({
    argv: [
      ...['--data', join(dir, 'server'), '--listen', '127.0.0.1:0', '--log-level', 'error'],
      ...['--bootstrap-out', join(dir, 'bootstrap.token'), '--address-rate-limit', '1000'],
    ],
    env: {},
    cwd: dir,
  });
  const server = await startServer(config, quiet, { signals: false });
  const people: Person[] = [];
  try {
    say(`embedded server at ${server.url}, data in ${dir}`);
    const org = async (
      name: string,
      officers: number,
      token: string,
    ): Promise<{ admin: CustosClient; officer1: { profile: string; passphraseFile: string } }> => {
      say(`key ceremony for "${name}" (${officers} officers, threshold 2) …`);
      const out = join(dir, name.replace(/\W+/g, '-'));
      const pass = demoOfficerPassphrases(join(dir, 'officer-passphrases', basename(out)), officers);
      const r = await runCeremony({
        server: server.url,
        bootstrapToken: token,
        name,
        officers,
        threshold: 2,
        out,
        passphrases: () => Promise.resolve(pass.list),
      });
      const admin = readAdminProfile(r.adminProfile);
      const client = await CustosClient.enrol(join(dir, `${r.orgId}-admin`), {
        serverUrl: server.url,
        code: admin.enrolmentCode,
        protection: { kind: 'file' },
      });
      return {
        admin: client,
        officer1: { profile: r.officers[0]!.profileDir, passphraseFile: pass.files[0]! },
      };
    };
    const person = async (admin: CustosClient, name: string): Promise<Person> => {
      const user = await admin.admin().createUser('member');
      const code = await admin.admin().issueEnrolmentCode(user.userId);
      const client = await CustosClient.enrol(join(dir, name), {
        serverUrl: server.url,
        code: code.enrolmentCode,
        protection: { kind: 'file' },
      });
      client.setDisplayName(name[0]!.toUpperCase() + name.slice(1));
      const p = { name, client, book: new AddressBook(client.settings), seen: [] };
      people.push(p);
      return p;
    };
    const ex = await org('Example Agency', 3, readFileSync(join(dir, 'bootstrap.token'), 'utf8').trim());
    const agency = ex.admin;
    const second = await issueBootstrapTokenIn(config.store, Date.now());
    const partner = (await org('Partner Agency', 2, second.token)).admin;
    const alice = await person(agency, 'alice');
    const bob = await person(agency, 'bob');
    const carol = await person(partner, 'carol');
    for (const a of people) for (const b of people) if (a !== b) a.book.add(b.name, b.client.me);
    // Before anyone talks: records archived without the bucket's index key are not searchable.
    say(
      "officer 1 of Example Agency enrols a console device and seals index keys to alice's and bob's devices …",
    );
    const officer: DemoOfficer = await setUpDemoOfficer(
      agency,
      ex.officer1.profile,
      ex.officer1.passphraseFile,
      [alice.client, bob.client],
      say,
    );
    await agency.close();
    await partner.close();

    const sync = async (...who: Person[]): Promise<void> => {
      for (const p of who) p.seen.push(...(await p.client.sync()));
    };
    const send = async (p: Person, e: Promise<MessageEvent>): Promise<MessageEvent> => {
      const ev = await e;
      p.seen.push(ev);
      return ev;
    };
    const me = (p: Person): PeerUser => p.client.me;

    say('alice and bob talk 1:1 …');
    const hello = await send(alice, alice.client.sendText(me(bob), 'Morning Bob, briefing at ten?'));
    await sync(bob);
    await send(bob, bob.client.sendText(me(alice), 'Yes, see you there', { replyTo: hello.content.id }));
    await sync(alice);

    say('alice creates a group with bob and carol (another organisation) and shares a file …');
    const group = await alice.client.createGroup('Joint operation', [me(bob), me(carol)]);
    const file = new TextEncoder().encode('Briefing: meet at the north gate at 10:00.\n');
    const pointer = await alice.client.attachFile(file, {
      contentType: 'text/plain',
      fileName: 'briefing.txt',
    });
    const brief = await send(
      alice,
      alice.client.sendToGroup(group.id, {
        kind: 'message',
        text: 'Briefing attached',
        attachments: [pointer],
      }),
    );
    await sync(bob, carol);
    const got = carol.client.groupMessages(group.id).find((m) => m.id === brief.content.id)?.attachments?.[0];
    const opened = got === undefined ? undefined : await carol.client.downloadAttachment(got);
    say(
      `carol's copy of briefing.txt ${opened !== undefined && Buffer.from(opened).equals(file) ? 'matches (digest checked)' : 'is MISSING'}`,
    );

    say('an edit, a reaction and a delete …');
    await send(
      alice,
      alice.client.sendToGroup(group.id, {
        kind: 'edit',
        edits: brief.content.id,
        text: 'Briefing attached (gate changed: south)',
      }),
    );
    const oops = await send(
      alice,
      alice.client.sendToGroup(group.id, { kind: 'message', text: 'wrong room, ignore' }),
    );
    await send(alice, alice.client.sendToGroup(group.id, { kind: 'delete', deletes: oops.content.id }));
    await sync(bob, carol);
    await send(
      bob,
      bob.client.sendToGroup(group.id, { kind: 'reaction', reactsTo: brief.content.id, emoji: '👍' }),
    );
    await send(
      carol,
      carol.client.sendToGroup(group.id, { kind: 'message', text: 'Partner Agency will be there' }),
    );
    await sync(alice, bob, carol);

    say(`a disappearing message (${DEMO_TIMER_SECONDS} s) from bob to alice …`);
    await send(bob, bob.client.setDisappearingTimer(me(alice), DEMO_TIMER_SECONDS));
    const secret = await send(
      bob,
      bob.client.sendText(me(alice), 'door code is 4711, this message disappears'),
    );
    await sync(alice);
    const later = Date.now() + (DEMO_TIMER_SECONDS + 1) * 1000;
    const expired = people.map((p) => p.client.expireMessages(later));
    const gone = people.every((p) => !p.client.messages().some((m) => m.id === secret.content.id));
    say(
      `after the timer: removed from the devices (${expired.join(', ')} messages expired): ${gone ? 'yes' : 'NO'}; the archive keeps it`,
    );

    say('uploading archives and verifying receipts …');
    const archives = [];
    for (const p of people)
      archives.push({
        p,
        proof: await flushAndVerify(p.client, PROOF_WAIT_MS),
        status: p.client.archiveStatus(),
      });

    say('the records officer of Example Agency at work …');
    const officerReport = await runDemoOfficerAct(
      officer,
      { query: 'briefing', custodian: me(alice), conversationId: group.id, dir },
      say,
    );

    const summary = archives.map(({ p, proof, status }) => ({
      name: p.name,
      org: p.client.profile.orgName,
      address: formatAddress(p.client.me),
      events: p.seen.filter((e) => e.content.kind !== 'receipt').map((e) => eventJson(e, p.book)),
      archive: { ...status, verifiedNow: proof.verified, waiting: proof.waiting },
    }));
    const lines: string[] = [];
    for (const { p, status } of archives) {
      const groupName = (id: string) => p.client.group(id)?.name;
      lines.push(
        '',
        `=== ${p.name} (${p.client.profile.orgName}, ${formatAddress(p.client.me)}) ===`,
        'Saw, in order:',
        ...p.seen
          .filter((e) => e.content.kind !== 'receipt')
          .map((e) => `  ${describeEvent(e, p.book, { groupNameOf: groupName, self: p.client.me })}`),
        `Group "${group.name}" as it stands on this device:`,
        ...p.client.groupMessages(group.id).map((m) => `  ${describeStored(m, p.book, p.client.me)}`),
        `Archived by: ${[...new Set(p.client.groupMessages(group.id).flatMap((m) => (m.notice === undefined ? [] : [m.notice.name])))].join(', ')}`,
        `Archive: ${status.receipts} verified receipts (last record ${status.lastReceiptSeq ?? '-'}), checkpoint tree size ${status.lastVerifiedTreeSize ?? '-'}, ${status.queued} queued, ${status.refusedBuckets.length} buckets refused`,
      );
    }
    lines.push(
      '',
      '=== records officer (Example Agency, officer 1) ===',
      `Search "${officerReport.search.query}": ${officerReport.search.matches} verified match(es)${officerReport.search.first === null ? '' : `, e.g. ${people.find((p) => formatAddress(p.client.me) === officerReport.search.first?.sender)?.name ?? officerReport.search.first.sender}: "${officerReport.search.first.text ?? ''}"`}`,
      `Legal hold ${officerReport.hold.holdId} (${officerReport.hold.matter}) on custodian alice (${officerReport.hold.custodian})`,
      `RSMF export: ${officerReport.export.records} record(s), ${officerReport.export.files} file(s), custody manifest ${officerReport.export.manifestSha256}`,
      `custos verify: ${officerReport.verify.ok ? 'ok' : 'FAILED'} (${officerReport.verify.records} records, ${officerReport.verify.rsmfFiles} .rsmf files)`,
      `Completeness: ${officerReport.completeness.complete ? 'complete' : `INCOMPLETE, ${officerReport.completeness.findings.length} finding(s)`} (${officerReport.completeness.devices} devices, ${officerReport.completeness.recordsChecked} records verified)`,
      `Log key: ${officerReport.logKey}`,
    );
    ctx.result(lines, {
      folder: ctx.flags.has('keep') ? dir : null,
      devices: summary,
      officer: officerReport,
    });
    // A demo whose officer act did not show what it should is a failure, not a show.
    const r = officerReport;
    return r.search.matches > 0 && r.verify.ok && r.completeness.complete ? 0 : 1;
  } finally {
    for (const p of people) await p.client.close().catch(() => undefined);
    await server.close();
    if (ctx.flags.has('keep')) say(`kept ${dir}`);
    else rmSync(dir, { recursive: true, force: true });
  }
}

/** Runs `custos demo`. */
export function runDemo(args: readonly string[], io: CliIo): Promise<number> {
  return runCommand({ name: 'demo', usage: USAGE, flags: FLAGS, maxPositionals: 0 }, args, io, demo);
}
