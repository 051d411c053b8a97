import { createCipheriv, createHmac } from 'node:crypto';
import { describe, expect, it } from 'vitest';
import { Aes128Gcm, Aes256Gcm, CipherSuite, DhkemX25519HkdfSha256, ExportOnly, HkdfSha256 } from '@hpke/core';
import type { AeadInterface } from '@hpke/core';
import { A_1_1, A_2_1_KEM, A_7_1 } from './rfc9180-vectors.test-data.js';
import type { BaseVector } from './rfc9180-vectors.test-data.js';
import { archiveHpkeSuite } from './bucket-key.js';

const hex = (s: string): Uint8Array => Uint8Array.from(Buffer.from(s, 'hex'));
const toHex = (b: ArrayBuffer | Uint8Array): string =>
  Buffer.from(b instanceof Uint8Array ? b : new Uint8Array(b)).toString('hex');
const suiteWith = (aead: AeadInterface): CipherSuite =>
  new CipherSuite({ kem: new DhkemX25519HkdfSha256(), kdf: new HkdfSha256(), aead });

async function checkBase(v: BaseVector, suite: CipherSuite): Promise<void> {
  const kem = suite.kem;
  const rPair = await kem.deriveKeyPair(hex(v.ikmR));
  expect(toHex(await kem.serializePublicKey(rPair.publicKey))).toBe(v.pkRm);
  expect(toHex(await kem.serializePrivateKey(rPair.privateKey))).toBe(v.skRm);
  const ePair = await kem.deriveKeyPair(hex(v.ikmE));
  expect(toHex(await kem.serializePublicKey(ePair.publicKey))).toBe(v.pkEm);
  expect(toHex(await kem.serializePrivateKey(ePair.privateKey))).toBe(v.skEm);

  const pkR = await kem.deserializePublicKey(hex(v.pkRm));
  const sender = await suite.createSenderContext({
    recipientPublicKey: pkR,
    info: hex(v.info),
    ekm: hex(v.ikmE),
  });
  expect(toHex(sender.enc)).toBe(v.enc);
  const recipient = await suite.createRecipientContext({
    recipientKey: rPair,
    enc: hex(v.enc),
    info: hex(v.info),
  });

  // Contexts count sequence numbers themselves, so walk 0..256 and compare where the RFC lists one.
  const bySeq = new Map(v.encryptions.map((e) => [e.seq, e]));
  for (let seq = 0; v.encryptions.length > 0 && seq <= 256; seq++) {
    const e = bySeq.get(seq);
    const pt = e ? hex(e.pt) : new Uint8Array([seq & 0xff]);
    const aad = e ? hex(e.aad) : new Uint8Array(0);
    const ct = await sender.seal(pt, aad);
    if (e) expect(toHex(ct), `${v.section} seq ${seq}`).toBe(e.ct);
    expect(toHex(await recipient.open(ct, aad))).toBe(toHex(pt));
  }
  for (const x of v.exports) {
    expect(toHex(await sender.export(hex(x.context), x.length))).toBe(x.value);
    expect(toHex(await recipient.export(hex(x.context), x.length))).toBe(x.value);
  }
}

// An independent RFC 9180 §5.1 key schedule (base mode, HKDF-SHA256) on node:crypto, to check
// the AES-256-GCM suite for which the RFC publishes no vector.
const LABEL = Buffer.from('HPKE-v1');
const hmac = (key: Uint8Array, ...parts: Uint8Array[]): Buffer => {
  const h = createHmac('sha256', key);
  for (const p of parts) h.update(p);
  return h.digest();
};
const i2osp = (n: number, len: number): Buffer => {
  const b = Buffer.alloc(len);
  b.writeUIntBE(n, 0, len);
  return b;
};
function keySchedule(aeadId: number, nk: number, sharedSecret: Uint8Array, info: Uint8Array) {
  const suiteId = Buffer.concat([Buffer.from('HPKE'), i2osp(0x20, 2), i2osp(1, 2), i2osp(aeadId, 2)]);
  const extract = (salt: Uint8Array, label: string, ikm: Uint8Array): Buffer =>
    hmac(salt.length ? salt : Buffer.alloc(32), LABEL, suiteId, Buffer.from(label), ikm);
  const expand = (prk: Uint8Array, label: string, ctx: Uint8Array, l: number): Buffer =>
    hmac(prk, i2osp(l, 2), LABEL, suiteId, Buffer.from(label), ctx, Buffer.from([1])).subarray(0, l);
  const ksc = Buffer.concat([
    Buffer.from([0]),
    extract(new Uint8Array(0), 'psk_id_hash', new Uint8Array(0)),
    extract(new Uint8Array(0), 'info_hash', info),
  ]);
  const secret = extract(sharedSecret, 'secret', new Uint8Array(0));
  return { key: expand(secret, 'key', ksc, nk), baseNonce: expand(secret, 'base_nonce', ksc, 12) };
}

describe('@hpke/core against RFC 9180 Appendix A', () => {
  it('A.1.1 base, DHKEM(X25519, HKDF-SHA256), HKDF-SHA256, AES-128-GCM: keys, enc, every encryption, exports', async () => {
    await checkBase(A_1_1, suiteWith(new Aes128Gcm()));
  });

  it('A.7.1 base, same KEM and KDF, Export-Only: keys, enc, exports', async () => {
    await checkBase(A_7_1, suiteWith(new ExportOnly()));
  });

  it('A.2.1 (ChaCha20Poly1305 suite): the shared KEM gives the RFC enc and shared secret', async () => {
    const kem = new DhkemX25519HkdfSha256();
    const r = await kem.deriveKeyPair(hex(A_2_1_KEM.ikmR));
    expect(toHex(await kem.serializePublicKey(r.publicKey))).toBe(A_2_1_KEM.pkRm);
    const { enc, sharedSecret } = await kem.encap({
      recipientPublicKey: r.publicKey,
      ekm: hex(A_2_1_KEM.ikmE),
    });
    expect(toHex(enc)).toBe(A_2_1_KEM.enc);
    expect(toHex(sharedSecret)).toBe(A_2_1_KEM.sharedSecret);
    expect(toHex(await kem.decap({ recipientKey: r, enc }))).toBe(A_2_1_KEM.sharedSecret);
  });

  it('the reference key schedule reproduces A.1.1 (so it can judge AES-256-GCM)', () => {
    const ks = keySchedule(1, 16, hex(A_1_1.sharedSecret), hex(A_1_1.info));
    expect(ks.key.toString('hex')).toBe(A_1_1.key);
    expect(ks.baseNonce.toString('hex')).toBe(A_1_1.baseNonce);
  });

  it('AES-256-GCM suite: with A.1.1 keys and ikmE, @hpke/core seals what the reference schedule and node AES-256-GCM give', async () => {
    const suite = archiveHpkeSuite();
    const pkR = await suite.kem.deserializePublicKey(hex(A_1_1.pkRm));
    const sender = await suite.createSenderContext({
      recipientPublicKey: pkR,
      info: hex(A_1_1.info),
      ekm: hex(A_1_1.ikmE),
    });
    expect(toHex(sender.enc)).toBe(A_1_1.enc);
    const ks = keySchedule(2, 32, hex(A_1_1.sharedSecret), hex(A_1_1.info));
    const e = A_1_1.encryptions[0]!;
    const c = createCipheriv('aes-256-gcm', ks.key, ks.baseNonce);
    c.setAAD(hex(e.aad));
    const expected = Buffer.concat([c.update(hex(e.pt)), c.final(), c.getAuthTag()]);
    expect(toHex(await sender.seal(hex(e.pt), hex(e.aad)))).toBe(expected.toString('hex'));
  });

  it('AES-256-GCM suite: round trip, and every single-bit flip of enc or ct fails to open', async () => {
    const suite = archiveHpkeSuite();
    const r = await suite.kem.generateKeyPair();
    const pt = hex('00112233445566778899aabbccddeeff00112233445566778899aabbccddeeff');
    const aad = hex('a1');
    const { enc, ct } = await suite.seal({ recipientPublicKey: r.publicKey, info: hex('01') }, pt, aad);
    const open = (e: Uint8Array, c: Uint8Array) =>
      suite.open({ recipientKey: r, enc: e, info: hex('01') }, c, aad);
    expect(toHex(await open(new Uint8Array(enc), new Uint8Array(ct)))).toBe(toHex(pt));
    for (const [which, bytes] of [
      ['enc', new Uint8Array(enc)],
      ['ct', new Uint8Array(ct)],
    ] as const) {
      for (let bit = 0; bit < bytes.length * 8; bit++) {
        const t = Uint8Array.from(bytes);
        t[bit >> 3]! ^= 1 << (bit & 7);
        const p = which === 'enc' ? open(t, new Uint8Array(ct)) : open(new Uint8Array(enc), t);
        await expect(p, `${which} bit ${bit}`).rejects.toThrow();
      }
    }
    const other = await suite.kem.generateKeyPair();
    await expect(suite.open({ recipientKey: other, enc, info: hex('01') }, ct, aad)).rejects.toThrow();
    await expect(suite.open({ recipientKey: r, enc, info: hex('02') }, ct, aad)).rejects.toThrow();
    await expect(suite.open({ recipientKey: r, enc, info: hex('01') }, ct, hex('a2'))).rejects.toThrow();
  }, 60_000);

  it('the archive suite is AES-256-GCM with the X25519 KEM and HKDF-SHA256', () => {
    const s = archiveHpkeSuite();
    expect([s.kem.id, s.kdf.id, s.aead.id]).toEqual([0x20, 0x01, 0x02]);
    expect(new Aes256Gcm().keySize).toBe(32);
  });
});
