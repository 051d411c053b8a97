import { mkdtempSync, readFileSync, rmSync, statSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { sha256 } from './crypto/secrets.js';
import { ensureBootstrapToken, firstStartText, writeBootstrapFile } from './first-start.js';
import { newId, type OrgId } from './ids.js';
import { openTestSqlite, type TestBackend } from './testing/test-stores.js';

describe('first start', () => {
  let tb: TestBackend;
  beforeAll(async () => {
    tb = await openTestSqlite();
  });
  afterAll(async () => {
    await tb?.dispose();
  });

  it('creates a token stored only as its hash, replaces it on each start, stops once an org exists', async () => {
    const first = await ensureBootstrapToken(tb.stores, 1);
    expect(first.kind).toBe('token');
    const token = first.kind === 'token' ? first.token : '';
    expect(token).toMatch(/^cb1\.[A-Za-z0-9_-]{43}$/);
    const stored = await tb.stores.bootstrap.get(sha256(token));
    expect(stored?.tokenHash.equals(sha256(token))).toBe(true);
    expect(stored?.tokenHash.toString('utf8')).not.toContain(token);

    const second = await ensureBootstrapToken(tb.stores, 2);
    expect(second.kind === 'token' && second.token !== token).toBe(true);
    expect((await tb.stores.bootstrap.consume(sha256(token), newId<OrgId>(), sha256('r'), 3)).status).toBe(
      'unknown',
    );

    const orgId = newId<OrgId>();
    await tb.stores.orgs.create({
      orgId,
      name: 'x',
      signingPublicKey: Buffer.alloc(32),
      signingKeyFingerprint: 'f',
      rootArchivePublicKey: Buffer.alloc(32),
      keyManager: { delegation: Buffer.alloc(1), notBefore: 0, notAfter: 1 },
      officerQuorum: 1,
      officers: [],
      createdAt: 0,
    });
    expect((await ensureBootstrapToken(tb.stores, 4)).kind).toBe('has-org');
  });

  it('writes the token file with mode 0600, tightening an existing file', () => {
    const dir = mkdtempSync(join(tmpdir(), 'custos-boot-'));
    try {
      const path = join(dir, 'token');
      writeFileSync(path, 'old', { mode: 0o644 });
      writeBootstrapFile(path, 'cb1.x');
      expect(statSync(path).mode & 0o777).toBe(0o600);
      expect(readFileSync(path, 'utf8')).toBe('cb1.x\n');
    } finally {
      rmSync(dir, { recursive: true, force: true });
    }
  });

  it('prints the token and the next step, or with --bootstrap-out only where the token went', () => {
    const text = firstStartText('cb1.t', 'https://c.example', '/tmp/b', '/srv/custos-data');
    // Written to a file, the token is not printed too: standard output lands in journals.
    expect(text).not.toContain('cb1.t');
    expect(text).toContain('Bootstrap token written to /tmp/b (mode 0600; not printed');
    expect(text).toContain('custos org create --server https://c.example --bootstrap-token-file /tmp/b \\\n');
    // Every option org create requires is on the printed command (the CLI's test parses it).
    expect(text).toMatch(/--name "Example Agency" --officers 3 --threshold 2 --out \.\/org/);
    expect(text).not.toContain('save the token above');
    expect(text).toMatch(/--out \.\/org\nThe token works once/);
    expect(text).toContain('custos server bootstrap-token --data /srv/custos-data');
    // Without --bootstrap-out the command names FILE and says how to make it.
    const bare = firstStartText('cb1.t', 'https://c.example', null);
    expect(bare).toContain('Bootstrap token: cb1.t');
    expect(bare).toContain('--bootstrap-token-file FILE');
    expect(bare).toContain('save the token above in a file of mode 0600 first');
    expect(bare).toContain('custos server bootstrap-token --store URL');
  });
});
