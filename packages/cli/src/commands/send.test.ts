/**
 * `custos send --attach FILE` says why a file cannot be read (before: only "cannot read the
 * file", the same for a missing file, a folder and one without permission).
 */
import { chmodSync, mkdirSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import { CliFailure } from '../command-runner.js';
import { cli, testFolder } from '../testing/run-cli.js';
import { readAttachment } from './send.js';

const dir = testFolder('custos-attach-');

function refusal(path: string): string {
  try {
    readAttachment(path);
  } catch (e) {
    if (e instanceof CliFailure) return `${e.code}: ${e.message}`;
    throw e;
  }
  throw new Error('the file was read');
}

describe('send --attach', () => {
  it('reads a regular file', () => {
    const file = join(dir, 'report.txt');
    writeFileSync(file, 'minutes');
    expect(new TextDecoder().decode(readAttachment(file))).toBe('minutes');
  });

  it('says why a file cannot be read', () => {
    const missing = join(dir, 'nonexistent.pdf');
    expect(refusal(missing)).toBe(
      `ATTACHMENT_UNREADABLE: cannot read the file ${missing}: no such file (ENOENT)`,
    );
    const folder = join(dir, 'folder');
    mkdirSync(folder);
    expect(refusal(folder)).toBe(
      `ATTACHMENT_UNREADABLE: cannot read the file ${folder}: it is not a regular file`,
    );
    // Root reads any file: only an ordinary user is refused.
    if (process.getuid?.() !== 0) {
      const secret = join(dir, 'secret.txt');
      writeFileSync(secret, 'x');
      chmodSync(secret, 0o000);
      expect(refusal(secret)).toBe(
        `ATTACHMENT_UNREADABLE: cannot read the file ${secret}: permission denied (EACCES)`,
      );
    }
  });

  it("reads the file before it opens the profile (closing a descriptor of the profile's database would drop its lock)", async () => {
    const missing = join(dir, 'gone.pdf');
    const r = await cli([
      'send',
      '--to',
      'bob',
      '--attach',
      missing,
      'hi',
      '--profile',
      join(dir, 'no-profile'),
    ]);
    expect([r.code, r.err]).toEqual([1, expect.stringContaining('no such file (ENOENT)')]);
    expect(r.err).not.toContain('no profile in');
  });
});
