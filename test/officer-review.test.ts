/**
 * End to end, with real processes (docs/officers.md "Daily review"): a `custos server`,
 * the key ceremony, two users, and an officer who adds a lexicon rule; a matching message
 * sent with `custos send` is queued by the server's indexer; `custos console review next`
 * opens and verifies it with its conversation around it; `review decide` records the
 * decision once (a second decision, an unknown item and a bad decision are refused);
 * the note opens again; and `custos console audit` lists the decision, verified.
 */
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { CustosClient } from '@custos/client';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { stopServer } from './client-support.js';
import {
  cliOrg,
  custos,
  custosJson,
  inviteAndEnrol,
  OFFICER_PASSPHRASE,
  type CliOrg,
} from './cli-support.js';

const SETUP_TIMEOUT_MS = 900_000;
/** A hang guard only: a step runs up to a dozen officer commands, each a full-strength KDF unlock
 * (it took over 300 s on a 2-core machine at load 20). */
const STEP_TIMEOUT_MS = 600_000;
/** Attempts while waiting for the indexer (about a second after each checkpoint). */
const ATTEMPTS = 30;

const TEXTS = {
  hello: 'morning, did you see the figures',
  pitch: 'Tell the client we offer Guaranteed Returns of ten percent',
  bye: 'ok, talk later',
} as const;
const NOTE = 'Promissory language about returns; escalated to the CCO for follow-up.';

interface Hit {
  text?: string;
  logIndex: number;
  conversationId: string;
  proof: string;
  signature: string;
}
interface NextOut {
  item: null | {
    itemId: string;
    logIndex: number;
    sampled: boolean;
    rules: { ruleId: string; name: string }[];
  };
  open: number;
  record?: Hit;
  before?: Hit[];
  after?: Hit[];
}
interface AuditOut {
  acts: {
    index: number;
    kind: string;
    actor: string;
    subject: string | null;
    detail: string | null;
    text: string;
    document: boolean;
  }[];
  treeSize: number;
  previousTreeSize?: number;
  outcome: string;
}

describe('officer review (processes)', () => {
  let dir: string;
  let org: CliOrg;
  let officer: string[];
  let ruleId: string;

  const wait = (ms: number) => new Promise((r) => setTimeout(r, ms));

  beforeAll(async () => {
    dir = mkdtempSync(join(tmpdir(), 'custos-officer-review-'));
    org = await cliOrg(dir);
    const alice = join(dir, 'alice');
    const bob = join(dir, 'bob');
    const aliceAddress = await inviteAndEnrol(org, 'alice', alice);
    const bobAddress = await inviteAndEnrol(org, 'bob', bob);
    const pp = join(dir, 'officer.pass');
    writeFileSync(pp, `${OFFICER_PASSPHRASE}\n`, { mode: 0o600 });
    const officerDir = join(dir, 'org', 'officers', 'officer-1');
    officer = ['--profile', officerDir, '--passphrase-file', pp];
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
    // Only lexicon hits in this test: sampling off (audited like every review setting).
    const rate = await custosJson<{ ppm: number }>(['console', 'review', 'sample-rate', '0', ...officer]);
    expect(rate.ppm).toBe(0);
    const added = await custosJson<{ ruleId: string; buckets: string[] }>([
      'console',
      'lexicon',
      'add',
      'guaranteed returns',
      'risk-free',
      '--name',
      'R-1',
      ...officer,
    ]);
    ruleId = added.ruleId;
    expect(added.buckets.length).toBeGreaterThan(0);
    await custosJson(['contacts', 'add', 'bob', bobAddress, '--profile', alice]);
    await custosJson(['contacts', 'add', 'alice', aliceAddress, '--profile', bob]);
    for (const t of [TEXTS.hello, TEXTS.pitch, TEXTS.bye]) {
      await custosJson(['send', '--to', 'bob', t, '--profile', alice]);
    }
    await custosJson(['sync', '--profile', bob]);
  }, SETUP_TIMEOUT_MS);

  afterAll(async () => {
    if (org !== undefined) await stopServer(org.server);
    if (dir !== undefined && process.env.CUSTOS_KEEP_TEST_DIR !== '1')
      rmSync(dir, { recursive: true, force: true });
    else if (dir !== undefined) process.stderr.write(`kept ${dir}\n`);
  });

  it(
    'lists the rule by label only, queues the matching message, and shows it verified in its conversation',
    async () => {
      const list = await custosJson<{ rules: { ruleId: string; name: string; terms: number }[] }>([
        'console',
        'lexicon',
        'list',
        ...officer,
      ]);
      expect(list.rules).toEqual([expect.objectContaining({ ruleId, name: 'R-1', terms: 2 })]);
      let next: NextOut | undefined;
      for (let i = 0; i < ATTEMPTS; i++) {
        next = await custosJson<NextOut>(['console', 'review', 'next', ...officer]);
        if (next.item !== null) break;
        await wait(500);
      }
      expect(next?.item, 'nothing was queued').not.toBeNull();
      const n = next!;
      expect(n.item!.rules).toEqual([{ ruleId, name: 'R-1' }]);
      expect(n.item!.sampled).toBe(false);
      expect(n.record!.text).toBe(TEXTS.pitch);
      expect(n.record!.proof).toBe('verified');
      expect(n.record!.logIndex).toBe(n.item!.logIndex);
      // The conversation around it: one copy of each other message, in order.
      expect(n.before!.map((h) => h.text)).toEqual([TEXTS.hello]);
      expect(n.after!.map((h) => h.text)).toEqual([TEXTS.bye]);
      // Both devices archived the message: alice's copy and bob's copy are each queued.
      expect(n.open).toBeGreaterThanOrEqual(1);
      const human = await custos(['console', 'review', 'next', ...officer]);
      expect(human.status, human.stderr).toBe(0);
      expect(human.stdout).toContain('lexicon rule R-1');
      expect(human.stdout).toContain(`> `);
      expect(human.stdout).toContain(TEXTS.pitch);
      // The printed next step runs as it stands: it names the profile this command was given.
      expect(human.stdout).toContain(`--note TEXT --profile ${officer[1]}`);
    },
    STEP_TIMEOUT_MS,
  );

  it(
    'records the decision once, opens its note, and the audit lists it verified',
    async () => {
      const { item } = await custosJson<NextOut>(['console', 'review', 'next', '--context', '0', ...officer]);
      const itemId = item!.itemId;
      const bad = await custos([
        'console',
        'review',
        'decide',
        itemId,
        '--decision',
        'approved',
        '--note',
        'x',
        ...officer,
      ]);
      expect(bad.status, bad.stderr).toBe(2);
      const unknown = await custos([
        'console',
        'review',
        'decide',
        'AAAAAAAAAAAAAAAAAAAAAA',
        '--decision',
        'cleared',
        '--note',
        'n/a',
        ...officer,
      ]);
      expect(unknown.status).toBe(1);
      expect(unknown.stderr).toContain('REVIEW_ITEM_NOT_FOUND');
      const d = await custosJson<{ itemId: string; decision: string; noteHash: string }>([
        'console',
        'review',
        'decide',
        itemId,
        '--decision',
        'violation',
        '--note',
        NOTE,
        ...officer,
      ]);
      expect(d).toMatchObject({ itemId, decision: 'violation' });
      expect(d.noteHash).toMatch(/^[0-9a-f]{64}$/);
      const twice = await custos([
        'console',
        'review',
        'decide',
        itemId,
        '--decision',
        'cleared',
        '--note',
        'again',
        ...officer,
      ]);
      expect(twice.status).toBe(1);
      expect(twice.stderr).toContain('REVIEW_ALREADY_DECIDED');
      const note = await custosJson<{ decision: string; note: string; noteHash: string }>([
        'console',
        'review',
        'note',
        itemId,
        ...officer,
      ]);
      expect(note).toEqual({ itemId, decision: 'violation', note: NOTE, noteHash: d.noteHash });
      // The decision is in the log: reviewer device, item, time, decision and the note's hash.
      let audit: AuditOut | undefined;
      for (let i = 0; i < ATTEMPTS; i++) {
        audit = await custosJson<AuditOut>(['console', 'audit', '--kind', 'review-decide', ...officer]);
        if (audit.acts.length > 0) break;
        await wait(500);
      }
      expect(audit!.acts).toHaveLength(1);
      const act = audit!.acts[0]!;
      expect(act).toMatchObject({ kind: 'review-decide', subject: itemId, document: true });
      expect(act.detail).toBe(`decision=violation record=${item!.logIndex} note=${d.noteHash}`);
      expect(act.text).toContain(`decided review item ${itemId}`);
      const all = await custosJson<AuditOut>(['console', 'audit', ...officer]);
      expect(all.acts.map((a) => a.kind)).toEqual(
        expect.arrayContaining(['review-settings', 'review-rule-add', 'review-decide']),
      );
      // The note's text is nowhere in the audit output (only its hash).
      const human = await custos(['console', 'audit', ...officer]);
      expect(human.status, human.stderr).toBe(0);
      expect(human.stdout).not.toContain('Promissory');
      expect(human.stdout).toContain('decided review item');
      // Removing the rule: it is no longer listed.
      await custosJson(['console', 'lexicon', 'remove', ruleId, ...officer]);
      const after = await custosJson<{ rules: unknown[] }>(['console', 'lexicon', 'list', ...officer]);
      expect(after.rules).toEqual([]);
      const gone = await custos(['console', 'lexicon', 'remove', ruleId, ...officer]);
      expect(gone.status).toBe(1);
      expect(gone.stderr).toContain('RULE_NOT_FOUND');
    },
    STEP_TIMEOUT_MS,
  );

  it(
    'refuses bad command lines with exit 2',
    async () => {
      for (const bad of [
        ['console', 'lexicon', 'add', ...officer],
        ['console', 'lexicon', 'frobnicate', ...officer],
        ['console', 'review', 'decide', ...officer],
        ['console', 'review', 'decide', 'X', '--decision', 'cleared', ...officer],
        ['console', 'review', 'next', '--context', 'many', ...officer],
        ['console', 'review', 'sample-rate', '250', ...officer],
      ]) {
        const r = await custos(bad);
        expect(r.status, `${bad.join(' ')}: ${r.stderr}`).toBe(2);
      }
      const help = await custos(['console', 'review', '--help']);
      expect(help.status).toBe(0);
      expect(help.stdout).toContain('Usage: custos console review');
    },
    STEP_TIMEOUT_MS,
  );
});
