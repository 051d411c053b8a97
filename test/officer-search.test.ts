/**
 * End to end, with real processes (docs/search.md): a `custos server`, the key ceremony,
 * two users of different retention classes (so their copies go to different buckets) who send
 * each other messages with `custos send` (their devices attach blind tokens once an officer has
 * sealed index keys to them), and an officer who runs `custos console search`: it finds exactly
 * the records whose text matches — both devices' copies, opened, their device signatures and
 * inclusion proofs verified — pages with --cursor across buckets, honours phrases, case, --kind,
 * --participant, --conversation and --from/--to, and refuses bad command lines with exit 2.
 * Each search over the ceremony's six buckets is one request: one `archive-search` entry in the
 * log, and a run of searches raises no rate-limit alert.
 */
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { stopServer } from './client-support.js';
import { logEntries } from './client-records.js';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import {
  cliOrg,
  custos,
  custosJson,
  inviteAndEnrol,
  OFFICER_PASSPHRASE,
  type CliOrg,
} from './cli-support.js';

/** The ceremony and officer commands run the full-strength passphrase KDF: slow on a busy machine. */
const SETUP_TIMEOUT_MS = 900_000;
const STEP_TIMEOUT_MS = 300_000;
/** Attempts while waiting for the indexer (a record is searchable about a second after its checkpoint). */
const INDEX_ATTEMPTS = 60;

interface Match {
  conversationId: string;
  kind: string;
  sender: string;
  text?: string;
  deviceId: string;
  seq: number;
  logIndex: number;
  bucketId: string;
  recordHash: string;
  signature: string;
  proof: string;
}
interface SearchOut {
  matches: Match[];
  threads: { conversationId: string; logIndexes: number[] }[];
  next: string | null;
  bucketsSearched: string[];
  bucketsWithoutWrap: string[];
}

const TEXTS = {
  budgetReview: 'The quarterly budget review is tomorrow',
  lunch: 'lunch at noon?',
  budgetApproved: 'Budget approved by the board',
  reply: 'budget numbers look fine to me',
} as const;

describe('officer search (processes)', () => {
  let dir: string;
  let org: CliOrg;
  let alice: string;
  let bob: string;
  let aliceAddress: string;
  let bobAddress: string;
  let officer: string[];
  /** `custos console search` runs that reached the server (each must be one request). */
  let searches = 0;

  const search = async (args: string[]): Promise<SearchOut> => {
    const out = await custosJson<SearchOut>(['console', 'search', ...args, ...officer]);
    // A search whose date range meets no bucket asks the server nothing.
    if (out.bucketsSearched.length > 0) searches++;
    return out;
  };
  /** Searches until `want` matches are indexed (the indexer runs every 250 ms after each checkpoint). */
  const searchUntil = async (args: string[], want: number): Promise<SearchOut> => {
    let last: SearchOut | undefined;
    for (let i = 0; i < INDEX_ATTEMPTS; i++) {
      last = await search(args);
      if (last.matches.length >= want) return last;
      await new Promise((r) => setTimeout(r, 500));
    }
    return last!;
  };

  beforeAll(async () => {
    dir = mkdtempSync(join(tmpdir(), 'custos-officer-search-'));
    org = await cliOrg(dir);
    alice = join(dir, 'alice');
    bob = join(dir, 'bob');
    aliceAddress = await inviteAndEnrol(org, 'alice', alice);
    // Bob keeps his records permanently: his device's copies go to the permanent class's bucket.
    bobAddress = await inviteAndEnrol(org, 'bob', bob, ['--unattended'], ['--retention', 'permanent']);
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
    const asAlice = (a: string[]) => [...a, '--profile', alice];
    const asBob = (a: string[]) => [...a, '--profile', bob];
    // Both devices refreshed their archive material before the grant (the next refresh is
    // 15 minutes away): alice's sends right after it must still fetch her index key before
    // sealing, or search misses her copies.
    await custosJson(asAlice(['sync']));
    await custosJson(asBob(['sync']));
    await custosJson(['console', 'grant-index-keys', ...officer]);
    await custosJson(asAlice(['contacts', 'add', 'bob', bobAddress]));
    await custosJson(asBob(['contacts', 'add', 'alice', aliceAddress]));
    for (const t of [TEXTS.budgetReview, TEXTS.lunch, TEXTS.budgetApproved]) {
      await custosJson(asAlice(['send', '--to', 'bob', t]));
    }
    await custosJson(asBob(['sync']));
    await custosJson(asBob(['send', '--to', 'alice', TEXTS.reply]));
    await custosJson(asAlice(['sync']));
  }, SETUP_TIMEOUT_MS);

  afterAll(async () => {
    if (org !== undefined) await stopServer(org.server);
    if (dir !== undefined) rmSync(dir, { recursive: true, force: true });
  });

  it(
    'finds exactly the matching records of both devices, opened and proven, threaded by conversation',
    async () => {
      // Three messages mention the budget; each is archived by its sender's and its recipient's device.
      const r = await searchUntil(['budget'], 6);
      expect(r.matches).toHaveLength(6);
      const texts = r.matches.map((m) => m.text).sort();
      expect(texts).toEqual(
        [
          TEXTS.budgetApproved,
          TEXTS.budgetApproved,
          TEXTS.budgetReview,
          TEXTS.budgetReview,
          TEXTS.reply,
          TEXTS.reply,
        ].sort(),
      );
      expect(new Set(r.matches.map((m) => m.deviceId)).size).toBe(2);
      for (const m of r.matches) {
        expect(m.proof).toBe('verified');
        // Ingest keeps each batch's device signature, so every hit's is checked.
        expect(m.signature).toBe('verified');
        expect(m.recordHash).toMatch(/^[0-9a-f]{64}$/);
        expect(m.kind).toBe('message');
      }
      // Alice's copies are in her class's bucket, Bob's in his; the ceremony's six buckets (three
      // classes, this month and next) were all searched, newest first.
      const hitBuckets = new Set(r.matches.map((m) => m.bucketId));
      expect([...hitBuckets].map((b) => b.split('-')[0]).sort()).toEqual(['permanent', 'standard']);
      for (const b of hitBuckets) expect(r.bucketsSearched).toContain(b);
      expect(r.bucketsSearched.length).toBeGreaterThanOrEqual(6);
      expect(r.bucketsWithoutWrap).toEqual([]);
      // One conversation (alice ↔ bob), every match in it.
      expect(r.threads).toHaveLength(1);
      expect(r.threads[0]!.logIndexes).toHaveLength(6);
      expect(r.next).toBeNull();
      // The human form prints the thread and the verification.
      const human = await custos(['console', 'search', 'budget', ...officer]);
      expect(human.status, human.stderr).toBe(0);
      searches++;
      expect(human.stdout).toContain(`Conversation ${r.threads[0]!.conversationId} (6 matches)`);
      expect(human.stdout).toContain('proof verified');
      expect(human.stdout).toContain('signature verified');
      expect(human.stdout).not.toContain('signature unavailable');
    },
    STEP_TIMEOUT_MS,
  );

  it(
    'phrases, case, kinds, participants, conversations and dates filter exactly; pages follow the cursor',
    async () => {
      await searchUntil(['budget'], 6);
      const phrase = await search(['"budget review"']);
      expect(phrase.matches.map((m) => m.text)).toEqual([TEXTS.budgetReview, TEXTS.budgetReview]);
      const cased = await search(['Budget', '--match-case']);
      expect(cased.matches.map((m) => m.text)).toEqual([TEXTS.budgetApproved, TEXTS.budgetApproved]);
      expect((await search(['budget', '--kind', 'reaction'])).matches).toEqual([]);
      const lunch = await search(['lunch', '--participant', `${aliceAddress},${bobAddress}`]);
      expect(lunch.matches.map((m) => m.text)).toEqual([TEXTS.lunch, TEXTS.lunch]);
      expect((await search(['nothing-like-this-was-said'])).matches).toEqual([]);
      // A participant (a well-formed address) who is in no conversation excludes everything.
      const [, orgId] = aliceAddress.split('@') as [string, string];
      expect((await search(['lunch', '--participant', `${'N'.repeat(22)}@${orgId}`])).matches).toEqual([]);
      // Dates (UTC days): a range ending yesterday excludes today's messages; one from today keeps them.
      const day = (ms: number) => new Date(ms).toISOString().slice(0, 10);
      const now = Date.now();
      const past = await search(['budget', '--from', '2020-01-01', '--to', day(now - 86_400_000)]);
      expect(past.matches).toEqual([]);
      expect((await search(['budget', '--from', day(now)])).matches).toHaveLength(6);
      // A conversation: its own id keeps every match, another id none.
      const conversationId = phrase.matches[0]!.conversationId;
      expect((await search(['budget', '--conversation', conversationId])).matches).toHaveLength(6);
      const other = conversationId.slice(0, -1) + (conversationId.endsWith('A') ? 'B' : 'A');
      expect((await search(['budget', '--conversation', other])).matches).toEqual([]);
      expect((await search(['budget', '--kind', 'message'])).matches).toHaveLength(6);
      // Paging: 2 per page, newest first, the union equals the single page.
      const all = await search(['budget']);
      const seen: number[] = [];
      let cursor: string | null = null;
      for (let i = 0; i < 10; i++) {
        const page: SearchOut = await search([
          'budget',
          '--limit',
          '2',
          ...(cursor === null ? [] : ['--cursor', cursor]),
        ]);
        expect(page.matches.length).toBeLessThanOrEqual(2);
        seen.push(...page.matches.map((m) => m.logIndex));
        cursor = page.next;
        if (cursor === null) break;
      }
      expect(seen).toEqual(all.matches.map((m) => m.logIndex));
      // The pages crossed from one bucket to the other.
      expect(new Set(all.matches.map((m) => m.bucketId)).size).toBe(2);
    },
    STEP_TIMEOUT_MS,
  );

  it(
    'each search over six buckets is one request: as many archive-search entries as searches, no rate-limit alert',
    async () => {
      const kinds = async (kind: string) =>
        (await logEntries(org.server, org)).filter((e) => e.type === 'audit-event' && e.kind === kind).length;
      // A few more in a row, after the searches above (more than the burst of 20 requests would
      // have been at one request per bucket).
      for (let i = 0; i < 3; i++) await search(['budget', '--limit', '2']);
      // Audit acts reach the log with the next checkpoint: wait until every search's is in.
      let entries = 0;
      for (let i = 0; i < INDEX_ATTEMPTS && entries < searches; i++) {
        if (i > 0) await new Promise((r) => setTimeout(r, 500));
        entries = await kinds('archive-search');
      }
      expect(searches).toBeGreaterThanOrEqual(20);
      expect(entries).toBe(searches);
      expect(await kinds('alert-rate-limit')).toBe(0);
    },
    STEP_TIMEOUT_MS,
  );

  it(
    'refuses bad command lines with exit 2 and a bad cursor with exit 2',
    async () => {
      for (const bad of [
        ['console', 'search', ...officer],
        ['console', 'search', 'budget', '--from', '2026-13-01', ...officer],
        ['console', 'search', 'budget', '--to', '2026-01-01', ...officer],
        ['console', 'search', 'budget', '--kind', 'telegram', ...officer],
        ['console', 'search', 'budget', '--limit', '101', ...officer],
        ['console', 'search', 'budget', '--cursor', 'not-a-cursor', ...officer],
      ]) {
        const r = await custos(bad);
        expect(r.status, `${bad.join(' ')}: ${r.stderr}`).toBe(2);
      }
      const help = await custos(['console', 'search', '--help']);
      expect(help.status).toBe(0);
      expect(help.stdout).toContain('Usage: custos console search');
    },
    STEP_TIMEOUT_MS,
  );
});
