/**
 * Threat model F18: the Signal protocol only through the upstream, pinned
 * `@signalapp/libsignal-client`; nothing forked or vendored; every package pinned by
 * integrity. scripts/check-dependencies.mjs enforces it in `npm test`; here it must pass on
 * this repository and fail, naming the cause, on a copy with each violation planted.
 */
import { execFileSync, spawnSync } from 'node:child_process';
import { cpSync, mkdirSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { dirname, join } from 'node:path';
import { afterEach, describe, expect, it } from 'vitest';

const ROOT = join(import.meta.dirname, '../..');
const SCRIPT = join(ROOT, 'scripts/check-dependencies.mjs');
const WORKSPACES = ['core', 'server', 'client', 'console', 'cli'].map((p) => `packages/${p}/package.json`);
const SIGNAL = '@signalapp/libsignal-client';

type Json = Record<string, unknown>;
const made: string[] = [];

function check(cwd: string): { status: number | null; out: string } {
  const r = spawnSync(process.execPath, [SCRIPT], { cwd, encoding: 'utf8' });
  return { status: r.status, out: r.stdout + r.stderr };
}

/** A git repository holding copies of this repository's manifests and lockfile. */
function copyOfManifests(): { dir: string; edit: (file: string, change: (j: Json) => void) => void } {
  const dir = mkdtempSync(join(tmpdir(), 'custos-deps-'));
  made.push(dir);
  for (const f of ['package.json', 'package-lock.json', ...WORKSPACES]) {
    mkdirSync(dirname(join(dir, f)), { recursive: true });
    cpSync(join(ROOT, f), join(dir, f));
  }
  execFileSync('git', ['init', '-q', '-b', 'main'], { cwd: dir });
  execFileSync('git', ['add', '-A'], { cwd: dir });
  return {
    dir,
    edit(file, change) {
      const j = JSON.parse(readFileSync(join(dir, file), 'utf8')) as Json;
      change(j);
      writeFileSync(join(dir, file), JSON.stringify(j, null, 2));
    },
  };
}

const lockPackages = (j: Json): Record<string, Json> => j['packages'] as Record<string, Json>;

afterEach(() => {
  for (const d of made.splice(0)) rmSync(d, { recursive: true, force: true });
});

describe('dependency policy (F18)', () => {
  it('holds for this repository', () => {
    const r = check(ROOT);
    expect(r.out).toContain('policy holds');
    expect(r.status).toBe(0);
  });

  it('holds for an unchanged copy (the control for the cases below)', () => {
    expect(check(copyOfManifests().dir).status).toBe(0);
  });

  it('fails when the Signal library is given as a range', () => {
    const c = copyOfManifests();
    c.edit('packages/client/package.json', (j) => {
      (j['dependencies'] as Json)[SIGNAL] = '^0.103.0';
    });
    const r = check(c.dir);
    expect(r.status).toBe(1);
    expect(r.out).toContain('packages/client/package.json: @signalapp/libsignal-client must be pinned');
  });

  it('fails on a fork of the protocol installed under another name', () => {
    const c = copyOfManifests();
    c.edit('package-lock.json', (j) => {
      lockPackages(j)['node_modules/libsignal-protocol-fork'] = {
        version: '1.0.0',
        integrity: 'sha512-' + 'A'.repeat(86) + '==',
      };
    });
    const r = check(c.dir);
    expect(r.status).toBe(1);
    expect(r.out).toContain('libsignal-protocol-fork');
  });

  it('fails on vendored protocol code (a tracked file with a Signal KDF label)', () => {
    const c = copyOfManifests();
    mkdirSync(join(c.dir, 'packages/client/src'), { recursive: true });
    const label = ['Whisper', 'MessageKeys'].join('');
    writeFileSync(join(c.dir, 'packages/client/src/ratchet.ts'), `export const INFO = '${label}';\n`);
    execFileSync('git', ['add', '-A'], { cwd: c.dir });
    const r = check(c.dir);
    expect(r.status).toBe(1);
    expect(r.out).toContain(
      `packages/client/src/ratchet.ts: contains the Signal-protocol KDF label "${label}"`,
    );
  });

  it('fails on a package without integrity or from outside the registry', () => {
    const c = copyOfManifests();
    c.edit('package-lock.json', (j) => {
      const p = lockPackages(j);
      delete p['node_modules/ws']?.['integrity'];
      const fastify = p['node_modules/fastify'];
      if (fastify !== undefined) fastify['resolved'] = 'git+https://example.invalid/fastify.git';
    });
    const r = check(c.dir);
    expect(r.status).toBe(1);
    expect(r.out).toContain('node_modules/ws: no sha512 integrity');
    expect(r.out).toContain('node_modules/fastify: resolved from git+https://example.invalid/fastify.git');
  });

  it('fails on an install script that is not allow-listed', () => {
    const c = copyOfManifests();
    c.edit('package-lock.json', (j) => {
      const ws = lockPackages(j)['node_modules/ws'];
      if (ws !== undefined) ws['hasInstallScript'] = true;
    });
    const r = check(c.dir);
    expect(r.status).toBe(1);
    expect(r.out).toContain('node_modules/ws: runs an install script');
  });
});
