/**
 * End to end, with real processes (docs/exports.md §9, docs/officers.md "FOIA / eDiscovery
 * export"): a `custos server`, the key ceremony, two users who exchange messages (one with
 * an attachment), and an officer who runs `custos console export`: RSMF, PDF, EML and MBOX
 * exports of a query, a JSON export of a custodian device with the attachment decrypted, each passing
 * `custos verify` offline (and one flipped byte failing it), each an `archive-export` audit
 * entry in the org's log; the admin's names file (`custos admin users --names-out`) gives the
 * search and the RSMF export people's and the organisation's names, and it still verifies; bad formats, occupied folders, another org's participant and a
 * server whose proof does not verify fail with a clear error and leave no export behind. The
 * officer takes the organisation's archive copy (`custos console archive-copy`) twice, the
 * second run fetching only what is new, and `custos verify copy` names a flipped byte. The
 * server is reached through a relay under its origin (lying-relay.ts), to make it lie.
 */
import { spawn } from 'node:child_process';
import { mkdirSync, mkdtempSync, readdirSync, readFileSync, rmSync, statSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { CustosClient } from '@custos/client';
import { rsmfFileProblems } from '@custos/console';
import { Ajv } from 'ajv';
import addFormats from 'ajv-formats';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { logEntries } from './client-records.js';
import { stopServer } from './client-support.js';
import {
  cleanEnv,
  cliOrg,
  custos,
  custosJson,
  inviteAndEnrol,
  MAIN,
  OFFICER_PASSPHRASE,
  type CliOrg,
} from './cli-support.js';
import { editJson, startLyingRelay, type LyingRelay } from './lying-relay.js';

/** The ceremony and every officer command run the full-strength passphrase KDF: minutes on a busy machine. */
const SETUP_TIMEOUT_MS = 1_200_000;
const STEP_TIMEOUT_MS = 300_000;
/** Attempts while waiting for the indexer (a record is searchable about a second after its checkpoint). */
const INDEX_ATTEMPTS = 60;

interface ExportOut {
  format: string;
  out: string;
  records: number;
  files: string[];
  counts: {
    records: number;
    attachments: number;
    attachmentsMissing: number;
    attachmentsNotListed: number;
    filteredOut: number;
  };
  custodian: string;
  custodianName: string | null;
  checkpoints: string[];
  manifestSha256: string;
  log: { origin: string; verifierKey: string };
}
interface VerifyOut {
  ok: boolean;
  code?: string;
  file?: string;
  records?: number;
  manifestSha256?: string;
  logKeyPinned?: boolean;
  textBinding?: string;
  textCompared?: string[];
}

const TEXTS = {
  budgetReview: 'The quarterly budget review is tomorrow',
  lunch: 'lunch at noon?',
  budgetApproved: 'Budget approved by the board',
  reply: 'budget numbers look fine to me',
} as const;
/** Relativity's RSMF 2.0 JSON Schema (kept with the export library's fixtures). */
const RSMF_SCHEMA = JSON.parse(
  readFileSync(
    new URL('../packages/console/src/export/fixtures/rsmf/rsmf_schema_2_0_0.json', import.meta.url),
    'utf8',
  ),
) as object;
const ATTACHMENT = Buffer.from('Q3 budget spreadsheet, exported for the board\n'.repeat(40));

describe('officer export (processes)', () => {
  let dir: string;
  let org: CliOrg;
  let relay: LyingRelay;
  let alice: string;
  let aliceAddress: string;
  let officerDir: string;
  let passFile: string;
  let officer: string[];
  let aliceDevice: string;
  let namesFile: string;

  const exportsInLog = async (): Promise<number> =>
    (await logEntries(org.server, { orgId: org.orgId })).filter(
      (e) => e.type === 'audit-event' && e.kind === 'archive-export',
    ).length;
  const waitFor = async (cond: () => Promise<boolean>): Promise<void> => {
    for (let i = 0; i < INDEX_ATTEMPTS && !(await cond()); i++) await new Promise((r) => setTimeout(r, 500));
  };
  const verify = async (path: string, extra: string[] = []) => {
    const r = await custos(['verify', path, '--json', ...extra]);
    return { status: r.status, out: JSON.parse(r.stdout) as VerifyOut, stderr: r.stderr };
  };

  beforeAll(async () => {
    dir = mkdtempSync(join(tmpdir(), 'custos-officer-export-'));
    relay = await startLyingRelay();
    org = await cliOrg(dir, undefined, {}, relay);
    alice = join(dir, 'alice');
    const bob = join(dir, 'bob');
    aliceAddress = await inviteAndEnrol(org, 'alice', alice);
    const bobAddress = await inviteAndEnrol(org, 'bob', bob);
    passFile = join(dir, 'officer.pass');
    writeFileSync(passFile, `${OFFICER_PASSPHRASE}\n`, { mode: 0o600 });
    officerDir = join(dir, 'org', 'officers', 'officer-1');
    officer = ['--profile', officerDir, '--passphrase-file', passFile];
    const inv = await custosJson<{ enrolmentCode: string }>([
      'admin',
      'invite',
      '--user',
      'officer-one',
      '--role',
      'officer',
      '--profile',
      org.adminProfile,
    ]);
    await custosJson(['console', 'enroll', inv.enrolmentCode, '--profile', officerDir]);
    await custosJson(['console', 'grant-index-keys', ...officer]);
    for (const p of [alice, bob]) {
      const c = CustosClient.open(p);
      try {
        await c.refreshKeys();
      } finally {
        await c.close();
      }
    }
    const asAlice = (a: string[]) => [...a, '--profile', alice];
    const asBob = (a: string[]) => [...a, '--profile', bob];
    await custosJson(asAlice(['contacts', 'add', 'bob', bobAddress]));
    await custosJson(asBob(['contacts', 'add', 'alice', aliceAddress]));
    for (const t of [TEXTS.budgetReview, TEXTS.lunch]) await custosJson(asAlice(['send', '--to', 'bob', t]));
    const file = join(dir, 'q3-budget.txt');
    writeFileSync(file, ATTACHMENT);
    await custosJson(asAlice(['send', '--to', 'bob', '--attach', file, TEXTS.budgetApproved]));
    await custosJson(asBob(['sync']));
    await custosJson(asBob(['send', '--to', 'alice', TEXTS.reply]));
    await custosJson(asAlice(['sync']));
    // The server holds no names: the admin writes their address book's names for officers.
    namesFile = join(dir, 'names.json');
    const named = await custosJson<{ namesWritten: number }>([
      'admin',
      'users',
      '--names-out',
      namesFile,
      '--profile',
      org.adminProfile,
    ]);
    expect(named.namesWritten).toBe(3); // alice, bob, officer-one (the admin is unnamed)
    expect(statSync(namesFile).mode & 0o777).toBe(0o600);
    // Wait until the three budget messages (both devices' copies) are indexed.
    let matches: { deviceId: string; sender: string; senderName: string | null }[] = [];
    await waitFor(async () => {
      matches = (
        await custosJson<{ matches: { deviceId: string; sender: string; senderName: string | null }[] }>([
          'console',
          'search',
          'budget',
          '--names',
          namesFile,
          ...officer,
        ])
      ).matches;
      return matches.length >= 6;
    });
    expect(matches).toHaveLength(6);
    expect(new Set(matches.map((m) => `${m.senderName} ${m.sender}`))).toEqual(
      new Set([`alice ${aliceAddress}`, `bob ${bobAddress}`]),
    );
    aliceDevice = (
      await custosJson<{ devices: { deviceId: string; thisDevice: boolean }[] }>([
        'devices',
        'list',
        '--profile',
        alice,
      ])
    ).devices.find((d) => d.thisDevice)!.deviceId;
  }, SETUP_TIMEOUT_MS);

  afterAll(async () => {
    if (org !== undefined) await stopServer(org.server);
    await relay?.close();
    if (dir !== undefined) rmSync(dir, { recursive: true, force: true });
  });

  it(
    'exports a query as RSMF and as PDF; custos verify passes, one flipped byte fails; each export is audited',
    async () => {
      const before = await exportsInLog();
      const rsmfOut = join(dir, 'exports', 'budget-rsmf');
      mkdirSync(join(dir, 'exports'));
      const rsmf = await custosJson<ExportOut>([
        'console',
        'export',
        'budget',
        '--format',
        'rsmf',
        '--out',
        rsmfOut,
        '--names',
        namesFile,
        ...officer,
      ]);
      expect(rsmf.records).toBe(6);
      // No single custodian: the organisation, by the name the names file gives it.
      expect([rsmf.custodian, rsmf.custodianName]).toEqual([`${org.orgId} (organisation)`, 'Example Agency']);
      expect(rsmf.counts.attachments).toBe(2);
      // Sender and recipient listed the attachment's blob in their records' headers.
      expect(rsmf.counts.attachmentsNotListed).toBe(0);
      expect(rsmf.manifestSha256).toMatch(/^[0-9a-f]{64}$/);
      expect(rsmf.files).toContain('custody-manifest.json');
      const rsmfFiles = rsmf.files.filter((f) => f.startsWith('rsmf/') && f.endsWith('.rsmf'));
      expect(rsmfFiles.length).toBeGreaterThan(0);
      // Headers are folded at 78 characters (RFC 5322): unfold before matching.
      const first = readFileSync(join(rsmfOut, rsmfFiles[0]!), 'latin1').replace(/\r\n[ \t]+/g, ' ');
      expect(first).toContain(`X-RSMF-Custos-Manifest-SHA256: ${rsmf.manifestSha256}`);
      expect(first).toContain('X-RSMF-Custodian: Example Agency\r\n');
      expect(first).toMatch(/X-RSMF-Participants: (alice, bob|bob, alice)\r\n/); // in id order

      // Every file: valid against the RSMF 2.0 schema and the referential checks; the transcript is readable.
      const ajv = new Ajv({ strict: false, allErrors: true });
      addFormats.default(ajv);
      const validate = ajv.compile(RSMF_SCHEMA);
      const transcripts: string[] = [];
      for (const f of rsmfFiles) {
        const r = rsmfFileProblems(readFileSync(join(rsmfOut, f)));
        expect(r.problems, f).toEqual([]);
        expect(validate(r.contents!.manifest), JSON.stringify(validate.errors)).toBe(true);
        expect([...r.contents!.zipNames].some((n) => n !== 'rsmf_manifest.json')).toBe(true);
        transcripts.push(r.contents!.transcript);
        const people = r.contents!.manifest.participants as { display: string }[];
        expect(people.map((p) => p.display).sort(), f).toEqual(['alice', 'bob']);
      }
      for (const t of [TEXTS.budgetReview, TEXTS.budgetApproved, TEXTS.reply])
        expect(transcripts.join('\n')).toContain(t);

      const ok = await verify(rsmfOut, ['--log-key', rsmf.log.verifierKey]);
      expect(ok.status, ok.stderr).toBe(0);
      expect(ok.out).toMatchObject({
        ok: true,
        records: 6,
        manifestSha256: rsmf.manifestSha256,
        logKeyPinned: true,
        // Custody manifest v2: the console kept each record's key; verify opened every
        // record with it and found the RSMF text to be exactly the records'.
        textBinding: 'verified',
        textCompared: ['rsmf'],
      });

      const pdfOut = join(dir, 'exports', 'budget-pdf');
      const pdf = await custosJson<ExportOut>([
        'console',
        'export',
        'budget',
        '--format',
        'pdf',
        '--out',
        pdfOut,
        '--participant',
        aliceAddress,
        ...officer,
      ]);
      expect(pdf.records).toBe(6);
      expect(pdf.custodian).toBe(aliceAddress);
      expect(readFileSync(join(pdfOut, 'transcript.pdf')).subarray(0, 5).toString()).toBe('%PDF-');
      const pdfOk = await verify(pdfOut);
      expect(pdfOk.status).toBe(0);
      expect(pdfOk.out).toMatchObject({ textBinding: 'records-opened', textCompared: [] });

      // One flipped byte in an RSMF file: verify names the file and fails.
      const target = join(rsmfOut, rsmfFiles[0]!);
      const bytes = readFileSync(target);
      bytes[bytes.length >> 1] = bytes[bytes.length >> 1]! ^ 0x01;
      writeFileSync(target, bytes);
      const bad = await verify(rsmfOut);
      expect(bad.status).toBe(1);
      expect(bad.out).toMatchObject({ ok: false, code: 'FILE_HASH_MISMATCH', file: rsmfFiles[0] });

      await waitFor(async () => (await exportsInLog()) >= before + 2);
      expect(await exportsInLog()).toBe(before + 2);
      // Nothing but the two exports in the folder: no staging folder left behind.
      expect(readdirSync(join(dir, 'exports')).sort()).toEqual(['budget-pdf', 'budget-rsmf']);
    },
    STEP_TIMEOUT_MS,
  );

  it(
    'draws its progress bar on a terminal up to the total; with --json stdout stays pure JSON',
    async () => {
      const before = await exportsInLog();
      // stderr is a pseudo-terminal (script(1)); stdout goes to a file, as a caller piping --json would.
      const out = join(dir, 'tty-export');
      const stdoutFile = join(dir, 'tty-export.stdout');
      const q = (a: string): string => `'${a.replaceAll("'", "'\\''")}'`;
      const line = [process.execPath, MAIN, 'console', 'export', 'budget', '--format', 'json', '--out', out]
        .concat(officer, ['--json'])
        .map(q)
        .join(' ');
      const child = spawn('script', ['-qec', `${line} > ${q(stdoutFile)}`, '/dev/null'], {
        env: cleanEnv(),
        stdio: ['ignore', 'pipe', 'pipe'],
      });
      let terminal = '';
      child.stdout.on('data', (d: Buffer) => (terminal += d.toString()));
      child.stderr.on('data', (d: Buffer) => (terminal += d.toString()));
      const status = await new Promise<number | null>((r) => child.on('close', r));
      expect(status, terminal).toBe(0);

      const result = JSON.parse(readFileSync(stdoutFile, 'utf8')) as ExportOut;
      expect(result.records).toBe(6);
      // The bar is redrawn in place (carriage return, erase line) and its last drawing is the total.
      const drawings = terminal.split('\r\u001b[2K').filter((d) => d !== '');
      const bars = drawings.filter((d) => /^\[[#.]{24}\] checked \d+\/\d+$/.test(d.trim()));
      expect(bars.length, JSON.stringify(terminal)).toBeGreaterThanOrEqual(1);
      expect(bars.at(-1)!.trim()).toBe(`[${'#'.repeat(24)}] checked ${result.records}/${result.records}`);
      // The line is cleared at the end: nothing of the bar is left after its last erase.
      expect(terminal.endsWith('\r\u001b[2K')).toBe(true);
      // Without a terminal (the other tests' exports), stderr gets no control characters.
      const piped = await custos([
        'console',
        'export',
        'budget',
        '--format',
        'json',
        '--out',
        join(dir, 'piped'),
        ...officer,
        '--json',
      ]);
      expect(piped.status, piped.stderr).toBe(0);
      expect(piped.stderr).not.toContain('\u001b[2K');
      expect((JSON.parse(piped.stdout) as ExportOut).records).toBe(6);
      // Both are audited before the next test counts exports.
      await waitFor(async () => (await exportsInLog()) >= before + 2);
    },
    STEP_TIMEOUT_MS,
  );

  it(
    "exports a custodian device's records as JSON with the attachment decrypted, filtered by date and kind",
    async () => {
      const out = join(dir, 'alice-json');
      const today = new Date().toISOString().slice(0, 10);
      const r = await custosJson<ExportOut>([
        'console',
        'export',
        '--format',
        'json',
        '--device',
        aliceDevice,
        '--from',
        today,
        '--to',
        today,
        '--kind',
        'message',
        '--out',
        out,
        ...officer,
      ]);
      // Alice's device archived her three messages and Bob's reply.
      expect(r.records).toBe(4);
      expect(r.custodian).toBe(aliceAddress);
      const doc = JSON.parse(readFileSync(join(out, 'export.json'), 'utf8')) as unknown;
      expect(JSON.stringify(doc)).toContain(TEXTS.lunch);
      const att = readdirSync(join(out, 'attachments'));
      expect(att).toHaveLength(1);
      expect(readFileSync(join(out, 'attachments', att[0]!))).toEqual(ATTACHMENT);
      // The attachment's content key is never written.
      expect(JSON.stringify(doc)).not.toMatch(/"key"/);
      expect((await verify(out)).status).toBe(0);
    },
    STEP_TIMEOUT_MS,
  );

  it(
    'exports the query as EML and MBOX, threaded per conversation; custos verify compares their text; audited',
    async () => {
      const before = await exportsInLog();
      for (const format of ['eml', 'mbox'] as const) {
        const out = join(dir, `budget-${format}`);
        const r = await custosJson<ExportOut>([
          'console',
          'export',
          'budget',
          '--format',
          format,
          '--out',
          out,
          ...officer,
        ]);
        expect(r.records).toBe(6);
        expect(r.files).toContain('custody-manifest.json');
        const mail = r.files.filter((f) => f.startsWith(`${format}/`) && f.endsWith(`.${format}`)).sort();
        // EML: one file per event (three budget messages); MBOX: one file per conversation.
        expect(mail).toHaveLength(format === 'eml' ? 3 : 1);
        const text = mail.map((f) => readFileSync(join(out, f), 'utf8').replace(/\r?\n[ \t]+/g, ' '));
        // Every message after a conversation's first names it: mail tools show one thread.
        const headers = text.join('\n');
        expect(headers.match(/^References: /gm)?.length).toBe(2);
        expect(headers.match(/^In-Reply-To: /gm)?.length).toBe(2);
        const ok = await verify(out, ['--log-key', r.log.verifierKey]);
        expect(ok.status, ok.stderr).toBe(0);
        expect(ok.out).toMatchObject({
          ok: true,
          records: 6,
          manifestSha256: r.manifestSha256,
          logKeyPinned: true,
          textBinding: 'verified',
          textCompared: [format],
        });
      }
      await waitFor(async () => (await exportsInLog()) >= before + 2);
      expect(await exportsInLog()).toBe(before + 2);
    },
    STEP_TIMEOUT_MS,
  );

  it(
    'refuses a bad format, an occupied folder and another org, with no export left behind',
    async () => {
      const base = join(dir, 'refused');
      mkdirSync(base);
      const badFormat = await custos([
        'console',
        'export',
        'budget',
        '--format',
        'docx',
        '--out',
        join(base, 'x'),
        ...officer,
      ]);
      expect(badFormat.status, badFormat.stderr).toBe(2);
      expect(badFormat.stderr).toContain('--format docx');
      const noCriteria = await custos([
        'console',
        'export',
        '--format',
        'rsmf',
        '--out',
        join(base, 'x'),
        ...officer,
      ]);
      expect(noCriteria.status, noCriteria.stderr).toBe(2);
      expect(noCriteria.stderr).toContain('--device');
      const occupied = join(base, 'occupied');
      mkdirSync(occupied);
      writeFileSync(join(occupied, 'keep.txt'), 'x');
      const busy = await custos([
        'console',
        'export',
        'budget',
        '--format',
        'rsmf',
        '--out',
        occupied,
        ...officer,
        '--json',
      ]);
      expect(busy.status).toBe(1);
      expect(JSON.parse(busy.stdout)).toMatchObject({ error: { code: 'OUT_EXISTS' } });
      expect(readdirSync(occupied)).toEqual(['keep.txt']);
      const foreign = await custos([
        'console',
        'export',
        'budget',
        '--format',
        'rsmf',
        '--participant',
        `${'N'.repeat(22)}@AAAAAAAAAAAAAAAAAAAAAA`,
        '--out',
        join(base, 'y'),
        ...officer,
      ]);
      expect(foreign.status).not.toBe(0);
      expect(foreign.stderr).toContain("not a user of this profile's organisation");
      const nothing = await custos([
        'console',
        'export',
        'zebra-unicorn',
        '--format',
        'rsmf',
        '--out',
        join(base, 'z'),
        ...officer,
      ]);
      expect(nothing.status).toBe(1);
      expect(nothing.stderr).toContain('nothing was written');
      expect(readdirSync(base)).toEqual(['occupied']);
      const help = await custos(['console', 'export', '--help']);
      expect(help.status).toBe(0);
      expect(help.stdout).toContain('Usage: custos console export');
    },
    STEP_TIMEOUT_MS,
  );

  it(
    'stops when the server answers a record whose inclusion proof does not verify, leaving nothing',
    async () => {
      // The server flips one byte of the first proof hash of every search answer.
      relay.lie = (a) =>
        a.path.endsWith('/archive/search') && a.status === 200
          ? editJson<{ records: { proof: string[] }[] }>(a.body, (json) => {
              const r0 = json.records[0];
              if (r0 !== undefined && r0.proof.length > 0) {
                const p = Buffer.from(r0.proof[0]!, 'base64url');
                p[0] = p[0]! ^ 0x01;
                r0.proof[0] = p.toString('base64url');
              }
            })
          : undefined;
      try {
        const before = await exportsInLog();
        const base = join(dir, 'proxied');
        mkdirSync(base);
        const r = await custos([
          'console',
          'export',
          'budget',
          '--format',
          'rsmf',
          '--out',
          join(base, 'export'),
          '--profile',
          officerDir,
          '--passphrase-file',
          passFile,
          '--json',
        ]);
        expect(r.status, r.stderr).toBe(1);
        expect(JSON.parse(r.stdout)).toMatchObject({ error: { code: 'INVALID_PROOF' } });
        expect(r.stderr).toContain('inclusion proof');
        expect(readdirSync(base)).toEqual([]);
        expect(await exportsInLog()).toBe(before);
      } finally {
        relay.lie = undefined;
      }
    },
    STEP_TIMEOUT_MS,
  );
  it(
    'takes the organisation’s own archive copy, brings it up to date, and custos verify copy names a flipped byte',
    async () => {
      interface CopyOut {
        outcome: string;
        treeSize: number;
        entriesAdded: number;
        recordsAdded: number;
        records: number;
        buckets: number;
        missingTotal: number;
        complete: boolean;
        log: { verifierKey: string };
      }
      const copyDir = join(dir, 'archive-copy');
      const first = await custosJson<CopyOut>(['console', 'archive-copy', '--out', copyDir, ...officer]);
      // Both devices archived each of the four messages they sent or received.
      expect(first).toMatchObject({ outcome: 'first', missingTotal: 0, complete: true });
      expect(first.records).toBeGreaterThanOrEqual(8);
      expect(first.recordsAdded).toBe(first.records);
      expect(first.buckets).toBeGreaterThan(0);
      const checkCopy = async (extra: string[] = []) => {
        const r = await custos(['verify', 'copy', copyDir, '--json', ...extra]);
        return { status: r.status, out: JSON.parse(r.stdout) as Record<string, unknown>, stderr: r.stderr };
      };
      const ok = await checkCopy(['--log-key', first.log.verifierKey]);
      expect(ok.status, ok.stderr).toBe(0);
      expect(ok.out).toMatchObject({
        ok: true,
        logKeyGiven: true,
        records: first.records,
        recordsMissing: 0,
      });

      // The log grew since (each records page the copy read is an audited act): only that is fetched.
      const second = await custosJson<CopyOut>(['console', 'archive-copy', '--out', copyDir, ...officer]);
      expect(second).toMatchObject({ outcome: 'extended', recordsAdded: 0, records: first.records });
      expect(second.entriesAdded).toBeGreaterThan(0);

      // One flipped byte in a sealed record: verify copy names the file and fails.
      const shard = readdirSync(join(copyDir, 'records')).sort()[0]!;
      const name = readdirSync(join(copyDir, 'records', shard)).sort()[0]!;
      const target = join(copyDir, 'records', shard, name);
      const bytes = readFileSync(target);
      bytes[bytes.length >> 1] = bytes[bytes.length >> 1]! ^ 0x01;
      writeFileSync(target, bytes);
      const bad = await checkCopy();
      expect(bad.status).toBe(1);
      expect(bad.out).toMatchObject({ error: { code: 'COPY_INVALID' } });
      expect((bad.out.error as { message: string }).message).toContain(
        `records/${shard}/${name}: was altered`,
      );
    },
    STEP_TIMEOUT_MS,
  );
});
