/**
 * Threat model F6: the secret scan that `npm test` runs over this repository's history
 * (scripts/scan-secrets.mjs) must find what it is for. A throwaway git repository gets a
 * planted credential — made at run time, so no secret sits in this file — and the scan
 * must fail on it, keep failing after the credential is deleted (history), mask it in its
 * output, and pass on a clean repository.
 */
import { execFileSync, spawnSync } from 'node:child_process';
import { randomBytes } from 'node:crypto';
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';

const SCRIPT = join(import.meta.dirname, '../../scripts/scan-secrets.mjs');

function repo(): { dir: string; commit: (file: string, text: string | undefined) => void } {
  const dir = mkdtempSync(join(tmpdir(), 'custos-secret-scan-'));
  const git = (...args: string[]) =>
    execFileSync('git', ['-c', 'user.name=t', '-c', 'user.email=t@example.invalid', ...args], { cwd: dir });
  git('init', '-q', '-b', 'main');
  return {
    dir,
    commit(file, text) {
      if (text === undefined) rmSync(join(dir, file));
      else writeFileSync(join(dir, file), text);
      git('add', '-A');
      git('commit', '-q', '-m', `change ${file}`);
    },
  };
}

function scan(dir: string): { status: number | null; out: string } {
  const r = spawnSync(process.execPath, [SCRIPT], { cwd: dir, encoding: 'utf8' });
  return { status: r.status, out: r.stdout + r.stderr };
}

/** An AWS-shaped access key pair, random each run (the shape is what the rule matches). */
function fakeAwsKeys(): { id: string; secret: string } {
  const upper = 'ABCDEFGHIJKLMNOPQRSTUVWXYZ234567';
  const id = 'AKIA' + Array.from(randomBytes(16), (b) => upper[b % 32]).join('');
  // Alphanumeric only: secretlint's AWS rule needs word boundaries, which a leading or
  // trailing '+' or '/' of raw base64 breaks (about 2% of random keys went unmatched).
  const alnum = 'ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789';
  const secret = Array.from(randomBytes(40), (b) => alnum[b % 62]).join('');
  return { id, secret };
}

describe('secret scan (F6)', () => {
  it('passes a clean repository', () => {
    const r = repo();
    r.commit('README.md', '# nothing to see\n');
    const res = scan(r.dir);
    expect(res.out).toMatch(/0 finding\(s\)/);
    expect(res.status).toBe(0);
  });

  it('fails on a planted credential, still after it is deleted, and never prints it', () => {
    const r = repo();
    const { id, secret } = fakeAwsKeys();
    r.commit('config.env', `AWS_ACCESS_KEY_ID=${id}\nAWS_SECRET_ACCESS_KEY=${secret}\n`);
    const planted = scan(r.dir);
    expect(planted.status).toBe(1);
    expect(planted.out).toMatch(/FOUND: config\.env:\d+/);
    expect(planted.out).not.toContain(id);
    expect(planted.out).not.toContain(secret);

    // The allow-list pins the old CI file's blob: a new credential in .ci/run is still found.
    r.commit('.ci-run-placeholder', 'x\n');
    const pw = randomBytes(12).toString('hex');
    execFileSync('mkdir', ['-p', join(r.dir, '.ci')]);
    r.commit('.ci/run', `export URL="postgres://ci:${pw}@db.example.invalid:5432/x"\n`);
    const ciRun = scan(r.dir);
    expect(ciRun.out).toMatch(/FOUND: \.ci\/run:1/);
    expect(ciRun.out).not.toContain(pw);

    r.commit('config.env', undefined);
    const history = scan(r.dir);
    expect(history.status).toBe(1);
    expect(history.out).toMatch(/FOUND: config\.env/);
  }, 60_000);
});
