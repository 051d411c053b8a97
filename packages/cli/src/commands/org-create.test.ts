import { statSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import type { CeremonyResult } from '@custos/console';
import { describe, expect, it } from 'vitest';
import { parseFlags, UsageError } from '../command-flags.js';
import { readPassphraseFile } from '../passphrase-input.js';
import { docCommands } from '../testing/doc-commands.js';
import { cli, testFolder } from '../testing/run-cli.js';
import { orgCreateNextSteps } from './org-create.js';

const dir = testFolder('custos-cli-org-');

const TOKEN = `cb1.${'A'.repeat(43)}`;
const BASE = [
  'org',
  'create',
  '--server',
  'http://127.0.0.1:9',
  '--bootstrap',
  TOKEN,
  '--name',
  'X',
  '--officers',
  '3',
];

describe('custos org create (arguments)', () => {
  it('prints its usage with --help and is listed by custos help', async () => {
    expect((await cli(['org', 'create', '--help'])).out).toContain('--passphrase-file FILE');
    expect((await cli(['help'])).out).toContain('org create');
    expect((await cli(['org', 'delete'])).code).toBe(2);
  });

  it('exits 2 naming the flag for missing, unknown, repeated and out-of-range options', async () => {
    const cases: [string[], RegExp][] = [
      [[...BASE, '--threshold', '2'], /--out is required/],
      [[...BASE, '--threshold', '2', '--out', 'o', '--colour'], /unknown option --colour/],
      [[...BASE, '--threshold', '4', '--out', 'o'], /--threshold must be an integer from 2 to 3/],
      [[...BASE, '--threshold', '2', '--out', 'o', '--name', 'Y'], /--name given twice/],
      [[...BASE, '--threshold', '2', '--out', 'o', '--bootstrap-token-file', 'f'], /not both/],
      [['org', 'create', '--officers', '40'], /--officers must be an integer from 2 to 32/],
    ];
    for (const [args, message] of cases) {
      const r = await cli(args);
      expect(r.code, args.join(' ')).toBe(2);
      expect(r.err).toMatch(message);
    }
  });

  it('refuses a passphrase file with the wrong number of lines before touching the server or disk', async () => {
    const pp = join(dir, 'pp.txt');
    writeFileSync(pp, 'first passphrase here\nsecond passphrase here\n', { mode: 0o600 });
    const out = join(dir, 'org');
    const r = await cli([...BASE, '--threshold', '2', '--out', out, '--passphrase-file', pp]);
    expect(r.code).toBe(1);
    expect(r.err).toMatch(/2 lines: give 1 \(for all officers\) or 3/);
    expect(r.err).not.toContain('first passphrase');
    expect(() => statSync(`${out}.ceremony-staging`)).toThrow();
  });
});

describe('custos org create (next steps)', () => {
  const result = (archivePolicy: 'required' | 'none'): CeremonyResult => ({
    orgId: 'O'.repeat(22),
    name: 'Acme',
    server: 'http://127.0.0.1:8443',
    signingKeyFingerprint: 'f',
    rootArchiveKeyFingerprint: 'r',
    keyManagerFingerprint: 'k',
    out: '/tmp/my org',
    orgFile: '/tmp/my org/org.json',
    adminProfile: '/tmp/my org/admin/profile.json',
    officers: [1, 2].map((i) => ({
      officerIndex: i - 1,
      shareIndex: i,
      profileDir: `/tmp/my org/officers/officer-${i}`,
      shareFiles: [`/tmp/my org/shares/officer-${i}/org-signing-key.share`],
    })),
    buckets: [],
    archivePolicy,
    resumed: false,
  });

  it('are commands that parse, naming the admin profile and an officer profile (quoted)', async () => {
    const steps = orgCreateNextSteps(result('required'));
    expect(steps[0]).toContain(`--admin-profile '/tmp/my org/admin/profile.json'`);
    expect(steps.some((l) => l.startsWith('custos console grant-index-keys'))).toBe(true);
    const parsed = docCommands('next steps', `\`\`\`\n${steps.join('\n')}\n\`\`\``);
    expect(parsed).toHaveLength(steps.length);
    expect(parsed[0]!.args).toContain('/tmp/my org/admin/profile.json');
    for (const c of parsed) {
      const r = await cli(c.args, { checkOnly: true });
      expect(r.err, c.text).toBe('');
      expect(r.code, c.text).toBe(0);
    }
    // An org that keeps no archive has no search keys to grant.
    expect(orgCreateNextSteps(result('none')).join('\n')).not.toContain('grant-index-keys');
  });
});

describe('flag and passphrase-file parsing', () => {
  it('accepts --flag value and --flag=value, and refuses stray arguments', () => {
    const f = parseFlags(['--a', '1', '--b=2', '--c'], { a: 'string', b: 'string', c: 'boolean' });
    expect([...f]).toEqual([
      ['a', '1'],
      ['b', '2'],
      ['c', true],
    ]);
    expect(() => parseFlags(['x'], {})).toThrow(UsageError);
    expect(() => parseFlags(['--a'], { a: 'string' })).toThrow(/needs a value/);
    expect(() => parseFlags(['--c=1'], { c: 'boolean' })).toThrow(/takes no value/);
  });

  it('reads one passphrase per line, ignoring CRs and a final newline, and warns on loose permissions', () => {
    const p = join(dir, 'loose.txt');
    writeFileSync(p, 'one passphrase\r\ntwo passphrase\n', { mode: 0o644 });
    const warnings: string[] = [];
    expect(readPassphraseFile(p, (w) => warnings.push(w))).toEqual(['one passphrase', 'two passphrase']);
    expect(warnings.join()).toMatch(/readable by other users/);
    writeFileSync(p, 'a\n\nb\n');
    expect(() => readPassphraseFile(p, () => undefined)).toThrow(/empty line/);
  });
});
