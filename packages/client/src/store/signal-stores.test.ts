import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import {
  CiphertextMessageType,
  IdentityKeyPair,
  KEMPublicKey,
  PreKeyBundle,
  PreKeySignalMessage,
  ProtocolAddress,
  PublicKey,
  processPreKeyBundle,
  signalDecrypt,
  signalDecryptPreKey,
  signalEncrypt,
  SignalMessage,
} from '@signalapp/libsignal-client';
import { afterEach, describe, expect, it } from 'vitest';
import { generatePrekeys } from '../enrol/prekeys.js';
import { LocalStore } from './local-store.js';
import { saveLocalIdentity, signalStores, type SignalStores } from './signal-stores.js';

type Buf = Uint8Array<ArrayBuffer>;
const dec = (s: string): Buf => new Uint8Array(Buffer.from(s, 'base64url'));
const dirs: string[] = [];
afterEach(() => {
  for (const d of dirs.splice(0)) rmSync(d, { recursive: true, force: true });
});

interface Dev {
  store: LocalStore;
  s: SignalStores;
  id: IdentityKeyPair;
  addr: ProtocolAddress;
  bundle: () => PreKeyBundle;
}

function device(name: string, withOneTime = true): Dev {
  const dir = mkdtempSync(join(tmpdir(), 'custos-sig-'));
  dirs.push(dir);
  const store = LocalStore.create(join(dir, 'p'), { kind: 'file' });
  const id = IdentityKeyPair.generate();
  saveLocalIdentity(store, id, 1234);
  const s = signalStores(store);
  const up = generatePrekeys(store, s, id, { oneTime: withOneTime ? 2 : 0, kyber: 2, rotateSigned: true });
  const otk = up.oneTimePreKeys[0];
  const spk = up.signedPreKey!;
  const kyb = up.kyberPreKeys[0]!;
  return {
    store,
    s,
    id,
    addr: ProtocolAddress.new(name, 1),
    bundle: () =>
      PreKeyBundle.new(
        1234,
        1,
        otk?.keyId ?? null,
        otk === undefined ? null : PublicKey.deserialize(dec(otk.publicKey)),
        spk.keyId,
        PublicKey.deserialize(dec(spk.publicKey)),
        dec(spk.signature),
        id.publicKey,
        kyb.keyId,
        KEMPublicKey.deserialize(dec(kyb.publicKey)),
        dec(kyb.signature),
      ),
  };
}

async function send(from: Dev, to: Dev, text: string) {
  return signalEncrypt(new TextEncoder().encode(text), to.addr, from.addr, from.s.sessions, from.s.identity);
}

async function receive(at: Dev, from: Dev, type: CiphertextMessageType, bytes: Buf): Promise<string> {
  const plain =
    type === CiphertextMessageType.PreKey
      ? await signalDecryptPreKey(
          PreKeySignalMessage.deserialize(bytes),
          from.addr,
          at.addr,
          at.s.sessions,
          at.s.identity,
          at.s.preKeys,
          at.s.signedPreKeys,
          at.s.kyberPreKeys,
        )
      : await signalDecrypt(
          SignalMessage.deserialize(bytes),
          from.addr,
          at.addr,
          at.s.sessions,
          at.s.identity,
        );
  return new TextDecoder().decode(plain);
}

describe('libsignal stores over the local store', () => {
  it('run a PQXDH session both ways and spend the one-time prekeys', async () => {
    const alice = device('alice');
    const bob = device('bob');
    await processPreKeyBundle(bob.bundle(), bob.addr, alice.addr, alice.s.sessions, alice.s.identity);
    const m1 = await send(alice, bob, 'hello bob');
    expect(m1.type()).toBe(CiphertextMessageType.PreKey);
    const before = bob.store.count('prekeys');
    expect(await receive(bob, alice, m1.type(), m1.serialize())).toBe('hello bob');
    expect(bob.store.count('prekeys')).toBe(before - 1);
    // The one-time Kyber prekey is gone too; replaying the first message fails.
    await expect(receive(bob, alice, m1.type(), m1.serialize())).rejects.toThrow();
    const m2 = await send(bob, alice, 'hi alice');
    expect(m2.type()).toBe(CiphertextMessageType.Whisper);
    expect(await receive(alice, bob, m2.type(), m2.serialize())).toBe('hi alice');
    // The ratchet state is persisted in the store between messages.
    const m3 = await send(alice, bob, 'still there');
    expect(await receive(bob, alice, m3.type(), m3.serialize())).toBe('still there');
  });

  it('refuses a changed identity key of a known device until accepted', async () => {
    const alice = device('alice');
    const bob = device('bob');
    await processPreKeyBundle(bob.bundle(), bob.addr, alice.addr, alice.s.sessions, alice.s.identity);
    const impostor = device('bob');
    await expect(
      processPreKeyBundle(impostor.bundle(), bob.addr, alice.addr, alice.s.sessions, alice.s.identity),
    ).rejects.toThrow(/untrusted identity/i);
    expect(alice.s.identity.changes()).toEqual([
      expect.objectContaining({ address: bob.addr.toString(), accepted: false }),
    ]);
    alice.s.identity.acceptIdentity(bob.addr.toString(), impostor.id.publicKey);
    await processPreKeyBundle(impostor.bundle(), bob.addr, alice.addr, alice.s.sessions, alice.s.identity);
    expect(alice.s.identity.changes()[0]?.accepted).toBe(true);
  });

  it('works without a one-time EC prekey (Kyber last-resort or one-time only)', async () => {
    const alice = device('alice');
    const bob = device('bob', false);
    await processPreKeyBundle(bob.bundle(), bob.addr, alice.addr, alice.s.sessions, alice.s.identity);
    const m = await send(alice, bob, 'no otk');
    expect(await receive(bob, alice, m.type(), m.serialize())).toBe('no otk');
  });
});
