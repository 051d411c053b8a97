/**
 * `custos console grant-index-keys` against a server that lies about a device's identity key
 * (docs/officers.md §4): the server (a relay in front of a real server process, under its
 * origin) serves, in the bucket's index-key recipients, an attacker's key for bob's device. The command seals nothing to that
 * key — bob's device is refused with a message saying the key is not the one its enrolment
 * committed to in the log, exit 1 — while alice's device, whose key checks, gets its key.
 * Once the server answers honestly a rerun seals bob's key (so none was sealed before).
 *
 * The same lying server then shows the officer a log rewritten (the audit listing's checkpoint
 * over another root) or rolled back (the log head shrunk), each signed with the operator's own
 * log key: the console refuses both (LOG_FORK, LOG_ROLLBACK) against the checkpoint its
 * profile verified before, and stores nothing.
 *
 * The lying server is a relay under the server's own origin (lying-relay.ts). A relay at
 * another origin, forwarding to it, is a phishing relay and gets nothing: the server refuses
 * the officer's `console enroll` through it before the code is spent (so the same code then
 * enrols the console at the origin), and the enrolled console does not log in through it.
 */
import { createPrivateKey } from 'node:crypto';
import { cpSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { PrivateKey } from '@signalapp/libsignal-client';
import { Ed25519NoteSigner, parseCheckpoint, parseNote, signCheckpoint, type Checkpoint } from '@custos/core';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { stopServer } from '../client-support.js';
import {
  cliOrg,
  custos,
  custosJson,
  inviteAndEnrol,
  OFFICER_PASSPHRASE,
  type CliOrg,
} from '../cli-support.js';
import { editJson, startLyingRelay, type LyingRelay } from '../lying-relay.js';

/** The ceremony and every officer command run the full-strength passphrase KDF. */
const SETUP_TIMEOUT_MS = 1_200_000;
const STEP_TIMEOUT_MS = 300_000;

interface GrantOut {
  buckets: string[];
  granted: { bucketId: string; deviceId: string }[];
  refused: { bucketId: string; deviceId: string; status: string }[];
}

const deviceOf = async (profile: string): Promise<string> =>
  (
    await custosJson<{ devices: { deviceId: string; thisDevice: boolean }[] }>([
      'devices',
      'list',
      '--profile',
      profile,
    ])
  ).devices.find((d) => d.thisDevice)!.deviceId;

/** Copies the officer profile `from` to `dest`, pointed at `url`; resolves to `dest`. */
function profileAt(from: string, dest: string, url: string): string {
  cpSync(from, dest, { recursive: true });
  const pf = join(dest, 'profile.json');
  const profile = JSON.parse(readFileSync(pf, 'utf8')) as { server: string };
  writeFileSync(pf, JSON.stringify({ ...profile, server: url }, null, 2), { mode: 0o600 });
  return dest;
}

describe('grant-index-keys checks identity keys against the log', () => {
  let dir: string;
  let org: CliOrg;
  let relay: LyingRelay;
  let officerDir: string;
  let passFile: string;
  let officerCode: string;
  let aliceDevice: string;
  let bobDevice: string;

  beforeAll(async () => {
    dir = mkdtempSync(join(tmpdir(), 'custos-lying-recipients-'));
    relay = await startLyingRelay();
    org = await cliOrg(dir, undefined, {}, relay);
    const alice = join(dir, 'alice');
    const bob = join(dir, 'bob');
    await inviteAndEnrol(org, 'alice', alice);
    await inviteAndEnrol(org, 'bob', bob);
    aliceDevice = await deviceOf(alice);
    bobDevice = await deviceOf(bob);
    passFile = join(dir, 'officer.pass');
    writeFileSync(passFile, `${OFFICER_PASSPHRASE}\n`, { mode: 0o600 });
    officerDir = join(dir, 'org', 'officers', 'officer-1');
    const inv = await custosJson<{ enrolmentCode: string }>([
      ...['admin', 'invite', '--user', 'officer-one', '--role', 'officer'],
      ...['--profile', org.adminProfile],
    ]);
    officerCode = inv.enrolmentCode;
  }, SETUP_TIMEOUT_MS);

  afterAll(async () => {
    if (org !== undefined) await stopServer(org.server);
    await relay?.close();
    rmSync(dir, { recursive: true, force: true });
  });

  it(
    "enrols and logs in the officer's console at the server's origin, not through a relay at another",
    async () => {
      const phishing = await startLyingRelay();
      phishing.relayTo(org.url);
      try {
        // The server refuses the enrolment through the relay before the code is spent …
        const via = profileAt(officerDir, join(dir, 'officer-via-phishing'), phishing.url);
        const refused = await custos(['console', 'enroll', officerCode, '--profile', via]);
        expect(refused.status).toBe(1);
        expect(refused.stderr).toContain(`this server takes logins for ${org.url}, not ${phishing.url}`);
        expect(refused.stderr).toContain('the code is still valid');
        // … so the same code enrols the console at the server's origin.
        await custosJson(['console', 'enroll', officerCode, '--profile', officerDir]);
        // Through the relay, the enrolled console gets a challenge for the server's origin,
        // not the one it reached, and signs nothing.
        const enrolledVia = profileAt(officerDir, join(dir, 'officer-enrolled-via-phishing'), phishing.url);
        const login = await custos([
          ...['console', 'hold', 'list', '--profile', enrolledVia],
          ...['--passphrase-file', passFile, '--json'],
        ]);
        expect(login.status).toBe(1);
        expect(JSON.parse(login.stdout)).toMatchObject({ error: { code: 'SERVER_REFUSED' } });
        expect(login.stderr).toContain(
          `the server asks for a signature over origin ${org.url}, but this console reached ${phishing.url}`,
        );
      } finally {
        await phishing.close();
      }
    },
    STEP_TIMEOUT_MS,
  );

  it(
    'refuses a device whose served key is not its committed one, and seals to the others',
    async () => {
      const attacker = Buffer.from(PrivateKey.generate().getPublicKey().serialize()).toString('base64url');
      // The server swaps bob's identity key in index-key recipient listings.
      relay.lie = (a) =>
        a.method === 'GET' && /\/buckets\/[^/]+\/index-keys$/.test(a.path) && a.status === 200
          ? editJson<{ recipients: { deviceId: string; identityKey: string }[] }>(a.body, (json) => {
              for (const r of json.recipients) if (r.deviceId === bobDevice) r.identityKey = attacker;
            })
          : undefined;
      try {
        const r = await custos([
          ...['console', 'grant-index-keys', '--profile', officerDir],
          ...['--passphrase-file', passFile, '--json'],
        ]);
        expect(r.status, r.stderr).toBe(1);
        const out = JSON.parse(r.stdout) as GrantOut;
        expect(out.refused.length).toBeGreaterThan(0);
        for (const x of out.refused) expect(x).toMatchObject({ deviceId: bobDevice, status: 'mismatch' });
        expect(out.granted.map((g) => g.deviceId)).toContain(aliceDevice);
        expect(out.granted.map((g) => g.deviceId)).not.toContain(bobDevice);
        expect(r.stderr).toContain(`NOT sealed to device ${bobDevice}`);
        expect(r.stderr).toContain('another identity key than the one its enrolment committed to in the log');

        // The human form names the refusal too.
        const human = await custos([
          ...['console', 'grant-index-keys', '--profile', officerDir],
          ...['--passphrase-file', passFile],
        ]);
        expect(human.status).toBe(1);
        expect(human.stdout).toContain(`REFUSED device ${bobDevice}`);
      } finally {
        relay.lie = undefined;
      }

      // The honest server: bob's device had nothing sealed, so this run seals it (alice's is done).
      const honest = await custosJson<GrantOut>([
        ...['console', 'grant-index-keys', '--profile', officerDir],
        ...['--passphrase-file', passFile],
      ]);
      expect(honest.refused).toEqual([]);
      expect(honest.granted.length).toBeGreaterThan(0);
      expect(new Set(honest.granted.map((g) => g.deviceId))).toEqual(new Set([bobDevice]));
    },
    STEP_TIMEOUT_MS,
  );

  it(
    'refuses a log rewritten or rolled back since the profile verified it, under the operator’s own key; stores nothing',
    async () => {
      const officer = ['--profile', officerDir, '--passphrase-file', passFile, '--json'];
      expect((await custos(['console', 'audit', ...officer])).status).toBe(0);
      const statePath = join(officerDir, 'audit-log-state.json');
      const stored = readFileSync(statePath, 'utf8');
      // The operator holds the data folder, so the log-signing key: its checkpoints verify.
      const key = createPrivateKey(readFileSync(join(org.server.dataDir, 'log-signing.key'), 'utf8'));
      const resign = (note: string, edit: (cp: Checkpoint) => Checkpoint): string => {
        const cp = parseCheckpoint(parseNote(note).text);
        return signCheckpoint(edit(cp), new Ed25519NoteSigner(cp.origin, key));
      };
      const refused = async (command: string, code: string, message: RegExp): Promise<void> => {
        const r = await custos(['console', command, ...officer]);
        expect(r.status, r.stderr).toBe(1);
        expect(JSON.parse(r.stdout)).toMatchObject({ error: { code } });
        expect(r.stderr).toMatch(message);
        expect(readFileSync(statePath, 'utf8')).toBe(stored);
      };
      try {
        // Officers shown another history: the audit listing's checkpoint over another root.
        relay.lie = (a) =>
          a.method === 'GET' && a.path === `/v1/orgs/${org.orgId}/audit` && a.status === 200
            ? editJson<{ checkpoint: { note: string } }>(a.body, (json) => {
                json.checkpoint.note = resign(json.checkpoint.note, (cp) => ({
                  ...cp,
                  rootHash: cp.rootHash.map((x) => x ^ 0xff),
                }));
              })
            : undefined;
        await refused(
          'audit',
          'LOG_FORK',
          /the audit listing: the log (forked|at size \d+ is not an extension)/,
        );
        // The log head (what completeness and disposition plans read) shrunk to one entry.
        relay.lie = (a) =>
          a.method === 'GET' && a.path === `/v1/orgs/${org.orgId}/log` && a.status === 200
            ? editJson<{ checkpoint: string }>(a.body, (json) => {
                json.checkpoint = resign(json.checkpoint, (cp) => ({ ...cp, treeSize: 1 }));
              })
            : undefined;
        await refused('completeness', 'LOG_ROLLBACK', /has 1 entries, but .* had \d+/);
      } finally {
        relay.lie = undefined;
      }
      expect((await custos(['console', 'audit', ...officer])).status).toBe(0);
    },
    STEP_TIMEOUT_MS,
  );
});
