/**
 * `custos group` and attachments end to end: a group created by one member, messages and a
 * file sent to it, the file saved by another member's sync (digest-checked), a rename, a
 * member leaving, a disappearing-message timer, and receipts verified for group records.
 * Spawns the built command: run `npx tsc -b` first (npm test does).
 */
import { readFileSync, rmSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it, vi } from 'vitest';
import { stopServer, tempDir } from './client-support.js';
import { cliOrg, custos, custosJson, inviteAndEnrol, type CliOrg } from './cli-support.js';

vi.setConfig({ testTimeout: 600_000 });

const dir = tempDir('custos-cli-groups-');
const p = { alice: join(dir, 'alice'), bob: join(dir, 'bob'), carol: join(dir, 'carol') };
let org: CliOrg;
const addr: Record<string, string> = {};

interface GroupOut {
  id: string;
  name: string;
  members: { address: string; name: string | null }[];
  active: boolean;
}
interface SyncOut {
  events: { kind: string; text?: string; group: string | null; attachments?: { fileName: string }[] }[];
  saved: string[];
  archive: { verified: number };
}

const as = (who: keyof typeof p, args: string[]): string[] => [...args, '--profile', p[who]];

beforeAll(async () => {
  org = await cliOrg(dir);
  for (const who of ['alice', 'bob', 'carol'] as const) addr[who] = await inviteAndEnrol(org, who, p[who]);
  await custosJson(as('alice', ['contacts', 'add', 'bob', addr.bob!]));
  await custosJson(as('alice', ['contacts', 'add', 'carol', addr.carol!]));
}, 900_000);

afterAll(async () => {
  if (org !== undefined) await stopServer(org.server);
  rmSync(dir, { recursive: true, force: true });
});

describe('custos group', () => {
  it('creates a group; members see it, its messages and its file; the file is saved intact', async () => {
    const g = await custosJson<GroupOut>(as('alice', ['group', 'create', 'Ops room', 'bob', addr.carol!]));
    expect(g.id).toMatch(/^g\./);
    expect(g.members.map((m) => m.address).sort()).toEqual([addr.alice, addr.bob, addr.carol].sort());

    const first = await custosJson<SyncOut>(as('bob', ['sync']));
    expect(first.events.some((e) => e.kind === 'group-update' && e.group === g.id)).toBe(true);
    const list = await custosJson<{ groups: GroupOut[] }>(as('bob', ['group', 'list']));
    expect(list.groups.map((x) => x.name)).toEqual(['Ops room']);

    const file = join(dir, 'minutes.txt');
    writeFileSync(file, 'minutes of the meeting: nothing decided\n');
    await custosJson(as('alice', ['send', '--group', 'ops room', '--attach', file, 'minutes attached']));
    const saveDir = join(dir, 'bob-files');
    const got = await custosJson<SyncOut>(as('bob', ['sync', '--save-attachments', saveDir]));
    const m = got.events.find((e) => e.text === 'minutes attached');
    expect(m?.group).toBe(g.id);
    expect(m?.attachments?.[0]?.fileName).toBe('minutes.txt');
    expect(got.saved).toHaveLength(1);
    expect(readFileSync(got.saved[0]!, 'utf8')).toBe('minutes of the meeting: nothing decided\n');
    expect(got.archive.verified).toBeGreaterThan(0);

    await custosJson(as('carol', ['sync']));
    await custosJson(as('carol', ['send', '--group', g.id.slice(0, 8), 'carol here']));
    const human = await custos(as('alice', ['sync']));
    expect(human.stdout).toMatch(/→ group "Ops room": carol here/);
  });

  it('renames, sets a timer, and a member leaves', async () => {
    const renamed = await custosJson<GroupOut>(as('alice', ['group', 'rename', 'Ops room', 'Night shift']));
    expect(renamed.name).toBe('Night shift');
    await custosJson(as('alice', ['send', '--group', 'Night shift', '--timer', '3600']));
    const bobSync = await custosJson<SyncOut>(as('bob', ['sync']));
    // carol's message from the first test arrives first: bob has not synced since.
    expect(bobSync.events.map((e) => e.kind)).toEqual(['message', 'group-update', 'timer']);
    expect(bobSync.events[0]!.text).toBe('carol here');
    const left = await custosJson<GroupOut>(as('bob', ['group', 'leave', 'Night shift']));
    expect(left.active).toBe(false);
    await custosJson(as('alice', ['sync']));
    const after = await custosJson<{ groups: GroupOut[] }>(as('alice', ['group', 'list']));
    expect(after.groups[0]!.members.map((x) => x.address)).not.toContain(addr.bob);
    const unknownGroup = await custos(as('alice', ['send', '--group', 'Day shift', 'hi']));
    expect(unknownGroup.status).toBe(1);
    expect(unknownGroup.stderr).toMatch(
      /no group 'Day shift' on this device: 'custos group list' shows yours/,
    );
    // A removed member is told so, by name, not only shown a smaller member count.
    await custosJson(as('alice', ['group', 'remove', 'Night shift', addr.carol!]));
    const carolSees = await custos(as('carol', ['sync']));
    expect(carolSees.status, carolSees.stderr).toBe(0);
    expect(carolSees.stdout).toMatch(
      /group is now "Night shift" with 1 members \(revision \d+\); removed you; you are no longer a member/,
    );
  });
});
