import { writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { afterEach, describe, expect, it } from 'vitest';
import { PASSPHRASE_FILE_ENV, passphraseFilePath } from './passphrase-input.js';
import { cli, testFolder } from './testing/run-cli.js';

const dir = testFolder('custos-cli-passphrase-');

/** A passphrase file readable by others, so that reading it draws the permission warning. */
function looseFile(name: string, text: string): string {
  const path = join(dir, name);
  writeFileSync(path, text, { mode: 0o644 });
  return path;
}

describe('passphrase file: --passphrase-file, else $CUSTOS_PASSPHRASE_FILE', () => {
  afterEach(() => {
    delete process.env[PASSPHRASE_FILE_ENV];
  });

  it('prefers the flag, falls back to the variable, and treats an empty variable as unset', () => {
    const flags = new Map<string, string | true>([['passphrase-file', 'flag.txt']]);
    expect(passphraseFilePath(flags, { [PASSPHRASE_FILE_ENV]: 'env.txt' })).toBe('flag.txt');
    expect(passphraseFilePath(new Map(), { [PASSPHRASE_FILE_ENV]: 'env.txt' })).toBe('env.txt');
    expect(passphraseFilePath(new Map(), { [PASSPHRASE_FILE_ENV]: '' })).toBeUndefined();
    expect(passphraseFilePath(new Map(), {})).toBeUndefined();
  });

  // Officer commands prompted even with the variable set (no terminal here: PASSPHRASE).
  it('unlocks officer commands from the variable, checked as the device commands check it', async () => {
    process.env[PASSPHRASE_FILE_ENV] = looseFile('officer.pass', 'an officer passphrase\n');
    const missing = join(dir, 'no-officer-profile');
    for (const args of [
      ['console', 'audit', '--profile', missing],
      ['org', 'unlock', '--profile', missing, '--shares', 'a,b', '--reissue-delegation'],
    ]) {
      const r = await cli(args);
      const what = args.slice(0, 2).join(' ');
      // The file was read (and its mode checked); the command then went on to the profile.
      expect(r.err, what).toMatch(/passphrase file .*officer\.pass is readable by other users/);
      expect(r.err, what).toMatch(/PROFILE_INVALID: cannot read .*no-officer-profile/);
      expect(r.err, what).not.toContain('an officer passphrase');
    }
  });

  it('lets the flag win over the variable for officer commands', async () => {
    process.env[PASSPHRASE_FILE_ENV] = join(dir, 'absent.pass');
    const flagFile = looseFile('flag.pass', 'an officer passphrase\n');
    const r = await cli(['console', 'audit', '--profile', join(dir, 'none'), '--passphrase-file', flagFile]);
    expect(r.err).toMatch(/flag\.pass is readable by other users/);
    expect(r.err).not.toContain('absent.pass');
  });

  // The ceremony's passphrases are the officers' new ones: the variable (the running user's
  // own passphrase) must not silently become every officer's.
  it('never gives the ceremony its officer passphrases from the variable', async () => {
    process.env[PASSPHRASE_FILE_ENV] = looseFile('ceremony.pass', 'first passphrase here\n');
    const r = await cli([
      'org',
      'create',
      '--server',
      'http://127.0.0.1:9',
      '--bootstrap',
      `cb1.${'A'.repeat(43)}`,
      '--name',
      'X',
      '--officers',
      '3',
      '--threshold',
      '2',
      '--out',
      join(dir, 'org'),
    ]);
    expect(r.code).not.toBe(0);
    expect(r.err).not.toContain('ceremony.pass');
    // No terminal here: it asked to type them (and could not) instead of reading the file.
    expect(r.err).toMatch(/PASSPHRASE|terminal/);
  });
});
