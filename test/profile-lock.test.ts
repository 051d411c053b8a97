/**
 * One process per device profile, enforced (LocalStore's lock, docs/client.md §1): while
 * another process holds a profile open, opening it here fails at once with PROFILE_IN_USE
 * and `custos` says what to do; once the holder exits, or is killed with SIGKILL (the OS
 * drops the lock with the process: nothing stale to delete by hand), the profile opens again
 * with its data intact. The holder runs the built store (packages/client/dist), this file the
 * source: two processes, as `custos chat` and `custos send` in two terminals would be.
 */
import { spawn, type ChildProcessWithoutNullStreams } from 'node:child_process';
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { isClientError, LocalStore } from '@custos/client';
import { afterAll, describe, expect, it } from 'vitest';
import { custos } from './cli-support.js';
import { kill9 } from './server-process.js';

const STORE = fileURLToPath(new URL('../packages/client/dist/store/local-store.js', import.meta.url));

/** Opens the profile, writes one row under KEY, says `ready`, and closes when stdin ends. */
const HOLDER = `
import { LocalStore } from ${JSON.stringify(STORE)};
const pass = process.env.PASS;
const store = LocalStore.open(process.env.PROFILE, pass, pass === undefined ? {} : { allowWeakKdfForTests: true });
store.put('contacts', process.env.KEY, Buffer.from('written by ' + process.env.KEY));
process.stdout.write('ready\\n');
process.stdin.on('end', () => store.close());
process.stdin.resume();
`;

/** A holder process, resolved once it holds the profile open (its `ready` line). */
async function holder(
  dir: string,
  key: string,
  passphrase?: string,
): Promise<ChildProcessWithoutNullStreams> {
  const child = spawn(process.execPath, ['--input-type=module', '-e', HOLDER], {
    env: {
      ...process.env,
      PROFILE: dir,
      KEY: key,
      ...(passphrase === undefined ? {} : { PASS: passphrase }),
    },
  });
  let out = '';
  child.stderr.on('data', (d: Buffer) => (out += d.toString()));
  await new Promise<void>((resolve, reject) => {
    child.stdout.on('data', (d: Buffer) => {
      out += d.toString();
      if (out.includes('ready\n')) resolve();
    });
    child.once('exit', (code) =>
      reject(new Error(`the holder exited (${code}) before it was ready: ${out}`)),
    );
  });
  child.removeAllListeners('exit');
  return child;
}

/** The text stored under `key`, from a fresh open (which must succeed) of the profile. */
function readBack(dir: string, keys: readonly string[]): (string | undefined)[] {
  const store = LocalStore.open(dir);
  try {
    return keys.map((k) => {
      const v = store.get('contacts', k);
      return v === undefined ? undefined : Buffer.from(v).toString();
    });
  } finally {
    store.close();
  }
}

function expectInUse(dir: string): void {
  try {
    LocalStore.open(dir).close();
    expect.unreachable('the profile opened while another process held it');
  } catch (e) {
    expect(isClientError(e, 'PROFILE_IN_USE'), String(e)).toBe(true);
  }
}

describe('one process per profile', () => {
  const root = mkdtempSync(join(tmpdir(), 'custos-profile-lock-'));
  afterAll(() => rmSync(root, { recursive: true, force: true }));

  it('a second process is refused with PROFILE_IN_USE; the profile opens again once the holder exits or is killed', async () => {
    const dir = join(root, 'profile');
    const made = LocalStore.create(dir, { kind: 'file' });
    made.put('contacts', 'mine', Buffer.from('written by mine'));
    made.close();

    const first = await holder(dir, 'first');
    expectInUse(dir);
    // The command a user would run in another terminal: refused, told what to do, exit 1.
    const refused = await custos(['pending', '--profile', dir, '--json']);
    expect(refused.status).toBe(1);
    expect(JSON.parse(refused.stdout)).toMatchObject({ error: { code: 'PROFILE_IN_USE' } });
    expect(refused.stderr).toMatch(
      /this profile is in use: another custos process has it open \(a 'custos chat' in another terminal, say\)\. Quit it/,
    );
    const exited = new Promise((r) => first.once('exit', r));
    first.stdin.end();
    expect(await exited).toBe(0);
    expect(readBack(dir, ['mine', 'first'])).toEqual(['written by mine', 'written by first']);

    // Killed while holding it: the lock goes with the process, the committed row stays.
    const second = await holder(dir, 'second');
    expectInUse(dir);
    await kill9(second);
    expect(second.signalCode).toBe('SIGKILL');
    expect(readBack(dir, ['mine', 'first', 'second'])).toEqual([
      'written by mine',
      'written by first',
      'written by second',
    ]);
  });
  it('a passphrase profile in use is said so before the passphrase is asked for', async () => {
    const dir = join(root, 'passphrase-profile');
    const passphrase = 'correct horse battery staple';
    LocalStore.create(
      dir,
      { kind: 'passphrase', passphrase, kdf: { N: 2 ** 10, r: 8, p: 1 } },
      { allowWeakKdfForTests: true },
    ).close();
    const held = await holder(dir, 'held', passphrase);
    // No terminal and no passphrase file: a prompt would fail; the lock is checked first.
    const refused = await custos(['pending', '--profile', dir, '--json']);
    expect(refused.status).toBe(1);
    expect(JSON.parse(refused.stdout)).toMatchObject({ error: { code: 'PROFILE_IN_USE' } });
    expect(refused.stderr).not.toMatch(/Passphrase for/);
    const exited = new Promise((r) => held.once('exit', r));
    held.stdin.end();
    expect(await exited).toBe(0);
    // Free again: the check took the lock and let it go, so a real open succeeds.
    const store = LocalStore.open(dir, passphrase, { allowWeakKdfForTests: true });
    expect(Buffer.from(store.get('contacts', 'held') ?? []).toString()).toBe('written by held');
    store.close();
  });
});
