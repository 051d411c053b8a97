/**
 * What officer e2e files share beyond the CLI helpers (cli-support.ts; a lying server is in
 * lying-relay.ts): a check that an officer's profile folder holds no opened key
 * (docs/officers.md §1: opened keys live only in the command's process).
 */
import { readFileSync } from 'node:fs';
import { openOfficerSession } from '@custos/console';
import { base64Needles, filesUnder } from './security/canary-search.js';

/** One private key an officer profile opens to, by name (`officer hpke`, `bucket <id>`, …). */
export interface NamedKey {
  readonly name: string;
  readonly key: Buffer;
}

/**
 * Every private key the officer profile in `dir` opens to with `passphrase`, raw: the
 * officer's HPKE key, signing key and key-manager key, and each bucket key wrapped to them.
 * Held by the test only, to search the profile folder for them.
 */
export async function officerPrivateKeys(dir: string, passphrase: string): Promise<NamedKey[]> {
  const s = await openOfficerSession(dir, passphrase);
  try {
    const k = s.officer.keys;
    const out: NamedKey[] = [
      { name: 'officer hpke', key: Buffer.from(await k.hpkePrivateKey.exportBytes()) },
      { name: 'officer signing', key: Buffer.from(k.signingKey.exportSeed()) },
      { name: 'key manager', key: Buffer.from(k.keyManager.exportSeed()) },
    ];
    for (const id of s.officer.bucketIds) {
      const b = await s.officer.unwrapBucket(id);
      out.push({ name: `bucket ${id}`, key: Buffer.from(await b.privateKey.exportBytes()) });
    }
    return out;
  } finally {
    s.close();
  }
}

/** Where a key was found: file, key name and form. */
export interface KeyHit {
  readonly file: string;
  readonly name: string;
  readonly form: 'raw' | 'hex' | 'base64';
}

/** Files under `dir` holding any of `keys` raw, as hex (either case) or as base64/base64url (any alignment). */
export function keysInFolder(dir: string, keys: readonly NamedKey[]): KeyHit[] {
  const needles = keys.map((k) => ({
    name: k.name,
    forms: [
      { form: 'raw' as const, n: [k.key] },
      {
        form: 'hex' as const,
        n: [Buffer.from(k.key.toString('hex')), Buffer.from(k.key.toString('hex').toUpperCase())],
      },
      { form: 'base64' as const, n: base64Needles(k.key) },
    ],
  }));
  const hits: KeyHit[] = [];
  for (const file of filesUnder(dir)) {
    const bytes = readFileSync(file);
    for (const k of needles)
      for (const f of k.forms)
        if (f.n.some((n) => bytes.includes(n))) hits.push({ file, name: k.name, form: f.form });
  }
  return hits;
}
