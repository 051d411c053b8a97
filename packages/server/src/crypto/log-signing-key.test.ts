import { createPublicKey, generateKeyPairSync, verify } from 'node:crypto';
import { chmodSync, mkdtempSync, readFileSync, rmSync, statSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { inspect } from 'node:util';
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { ConfigError } from '../config/config-error.js';
import { loadOrCreateLogSigningKey } from './log-signing-key.js';

describe('log-signing key', () => {
  let dir: string;
  beforeEach(() => {
    dir = mkdtempSync(join(tmpdir(), 'custos-key-'));
  });
  afterEach(() => rmSync(dir, { recursive: true, force: true }));

  it('is generated once into a 0600 file and read back the next time', () => {
    const path = join(dir, 'log-signing.key');
    const first = loadOrCreateLogSigningKey(path);
    expect(first.created).toBe(true);
    expect(statSync(path).mode & 0o777).toBe(0o600);
    const second = loadOrCreateLogSigningKey(path);
    expect(second.created).toBe(false);
    expect(second.key.publicKey.equals(first.key.publicKey)).toBe(true);
    expect(first.key.publicKey).toHaveLength(32);
  });

  it('signs verifiably with Ed25519', () => {
    const path = join(dir, 'k');
    const { key } = loadOrCreateLogSigningKey(path);
    const msg = Buffer.from('checkpoint');
    const pub = createPublicKey(readFileSync(path, 'utf8'));
    expect(verify(null, msg, pub, key.sign(msg))).toBe(true);
  });

  it('never prints key material', () => {
    const path = join(dir, 'k');
    const { key } = loadOrCreateLogSigningKey(path);
    const pem = readFileSync(path, 'utf8');
    const body = pem.split('\n')[1]!;
    expect(inspect(key)).toBe('[LogSigningKey]');
    expect(JSON.stringify({ key })).toBe('{"key":"[LogSigningKey]"}');
    expect(`${inspect(key, { showHidden: true, depth: 5 })}${JSON.stringify(key)}`).not.toContain(body);
  });

  it('refuses a key file readable by others, and a key that is not Ed25519', () => {
    const loose = join(dir, 'loose');
    loadOrCreateLogSigningKey(loose);
    chmodSync(loose, 0o644);
    expect(() => loadOrCreateLogSigningKey(loose)).toThrow(ConfigError);
    expect(() => loadOrCreateLogSigningKey(loose)).toThrow(/chmod 600/);
    const rsa = join(dir, 'rsa');
    const { privateKey } = generateKeyPairSync('ec', { namedCurve: 'P-256' });
    writeFileSync(rsa, privateKey.export({ format: 'pem', type: 'pkcs8' }), { mode: 0o600 });
    expect(() => loadOrCreateLogSigningKey(rsa)).toThrow(/Ed25519/);
    const junk = join(dir, 'junk');
    writeFileSync(junk, 'not a key', { mode: 0o600 });
    expect(() => loadOrCreateLogSigningKey(junk)).toThrow(/PEM private key/);
  });
});
