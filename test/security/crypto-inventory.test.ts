/**
 * docs/cryptography.md is the statement assessors read (SC-13): it must name every algorithm
 * the code asks node:crypto for, so a new one cannot slip in unlisted. Broken or
 * non-approved digests and ciphers (MD5, SHA-1, DES, RC4, ECB, CBC without a MAC) must not
 * appear at all: the breached system stored MD5 password hashes.
 */
import { readdirSync, readFileSync } from 'node:fs';
import { join, relative } from 'node:path';
import { describe, expect, it } from 'vitest';

const ROOT = join(import.meta.dirname, '../..');
const DOC = readFileSync(join(ROOT, 'docs/cryptography.md'), 'utf8');

/** Every non-test TypeScript source under packages/<pkg>/src. */
function sources(): { file: string; text: string }[] {
  const out: { file: string; text: string }[] = [];
  for (const pkg of readdirSync(join(ROOT, 'packages'))) {
    const src = join(ROOT, 'packages', pkg, 'src');
    for (const entry of readdirSync(src, { recursive: true, withFileTypes: true })) {
      if (
        !entry.isFile() ||
        !entry.name.endsWith('.ts') ||
        /\.test(-data)?\.ts$|\.fuzz\.test\.ts$/.test(entry.name)
      )
        continue;
      const file = join(entry.parentPath, entry.name);
      if (file.includes(`${join('src', 'testing')}`)) continue;
      out.push({ file: relative(ROOT, file), text: readFileSync(file, 'utf8') });
    }
  }
  return out;
}

/** node:crypto calls that take an algorithm name as a string literal. */
const NAMED_CALL =
  /\b(createHash|createHmac|createCipheriv|createDecipheriv|hkdfSync|hkdf|generateKeyPairSync|generateKeyPair|hash)\(\s*'([A-Za-z0-9-]+)'/g;
/** Constants holding an algorithm name for such a call (e.g. `const CIPHER = 'aes-256-gcm'`). */
const NAMED_CONST = /\bconst [A-Z0-9_]+ = '(aes-[0-9]+-[a-z]+|sha[0-9-]+|ed25519|x25519|ed448|x448)'/g;

function algorithmsInCode(): Map<string, string[]> {
  const found = new Map<string, string[]>();
  const note = (alg: string, file: string): void => {
    const files = found.get(alg) ?? [];
    if (!files.includes(file)) files.push(file);
    found.set(alg, files);
  };
  for (const { file, text } of sources()) {
    for (const m of text.matchAll(NAMED_CALL)) note(m[2]!.toLowerCase(), file);
    for (const m of text.matchAll(NAMED_CONST)) note(m[1]!.toLowerCase(), file);
    if (/\bscrypt(Sync)?\(/.test(text)) note('scrypt', file);
  }
  return found;
}

describe('crypto inventory (docs/cryptography.md)', () => {
  const found = algorithmsInCode();

  it('finds the algorithms the code is known to use (the scan itself works)', () => {
    for (const alg of ['sha256', 'aes-256-gcm', 'ed25519', 'scrypt']) expect(found.has(alg), alg).toBe(true);
  });

  it('names every algorithm the code asks node:crypto for', () => {
    const missing = [...found.keys()].filter((alg) => !DOC.includes(`\`${alg}\``));
    expect(
      missing.map((alg) => `${alg} (${found.get(alg)!.join(', ')})`),
      'algorithms used in packages/*/src but not listed in docs/cryptography.md',
    ).toEqual([]);
  });

  it('uses no broken or non-approved digest or cipher', () => {
    const banned = /^(md4|md5|sha1|sha-1|ripemd160|des|des-ede3|rc2|rc4|bf|.*-ecb|aes-[0-9]+-cbc)$/;
    const used = [...found.keys()].filter((alg) => banned.test(alg));
    expect(used.map((alg) => `${alg} (${found.get(alg)!.join(', ')})`)).toEqual([]);
  });
});
