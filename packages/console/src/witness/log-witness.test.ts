/**
 * The witness against an honest and a lying log. The log here is a small, independent
 * RFC 6962 implementation (MTH and PROOF written from the RFC's recursive definitions),
 * so the witness's use of core's verifier is cross-checked rather than trusted; the
 * signatures are real Ed25519 signed notes.
 */
import { createHash } from 'node:crypto';
import { mkdtempSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import {
  openCheckpoint,
  parseSignerKey,
  generateSignerKey,
  signCheckpoint,
  type NoteSigner,
} from '@custos/core';
import { isConsoleError, type ConsoleErrorCode } from '../console-error.js';
import type { LogSource } from './log-source.js';
import { witnessLog, type WitnessResult } from './log-witness.js';
import { createWitnessKey, loadWitnessKey } from './witness-key.js';
import {
  formatWitnessState,
  parseWitnessState,
  readWitnessState,
  writeWitnessState,
} from './witness-state.js';

const ORG = 'AAAAAAAAAAAAAAAAAAAAAA';
const ORIGIN = `custos.example/${ORG}`;

const sha = (...parts: Uint8Array[]) => {
  const h = createHash('sha256');
  for (const p of parts) h.update(p);
  return new Uint8Array(h.digest());
};
const leafHash = (d: Uint8Array) => sha(Uint8Array.of(0), d);
const nodeHash = (l: Uint8Array, r: Uint8Array) => sha(Uint8Array.of(1), l, r);

/** Largest power of two strictly below n (n ≥ 2). */
const split = (n: number) => 2 ** Math.floor(Math.log2(n - 1));

function mth(leaves: readonly Uint8Array[]): Uint8Array {
  if (leaves.length === 0) return sha();
  if (leaves.length === 1) return leafHash(leaves[0]!);
  const k = split(leaves.length);
  return nodeHash(mth(leaves.slice(0, k)), mth(leaves.slice(k)));
}

/** RFC 6962 §2.1.2 SUBPROOF(m, D[n], b). */
function subproof(m: number, d: readonly Uint8Array[], b: boolean): Uint8Array[] {
  const n = d.length;
  if (m === n) return b ? [] : [mth(d)];
  const k = split(n);
  if (m <= k) return [...subproof(m, d.slice(0, k), b), mth(d.slice(k))];
  return [...subproof(m - k, d.slice(k), false), mth(d.slice(0, k))];
}

/** An in-memory log that can be made to lie. */
class TestLog implements LogSource {
  leaves: Uint8Array[] = [];
  signer: NoteSigner;
  verifierKey: string;
  tamperProof = false;

  constructor() {
    const k = generateSignerKey(ORIGIN);
    this.signer = parseSignerKey(k.signerKey);
    this.verifierKey = k.verifierKey;
  }

  append(n: number, tag = 'entry'): void {
    for (let i = 0; i < n; i++) this.leaves.push(new TextEncoder().encode(`${tag} ${this.leaves.length}`));
  }

  checkpoint(size = this.leaves.length, signer = this.signer): string {
    const leaves = this.leaves.slice(0, size);
    return signCheckpoint({ origin: ORIGIN, treeSize: size, rootHash: mth(leaves), extensions: [] }, signer);
  }

  log() {
    return Promise.resolve({ origin: ORIGIN, verifierKey: this.verifierKey, checkpoint: this.checkpoint() });
  }

  consistency(from: number, to: number) {
    const proof = subproof(from, this.leaves.slice(0, to), true);
    if (this.tamperProof && proof.length > 0) proof[0] = sha(proof[0]!);
    return Promise.resolve(proof);
  }
}

async function expectCode(p: Promise<unknown>, code: ConsoleErrorCode): Promise<string> {
  try {
    await p;
  } catch (e) {
    expect(isConsoleError(e) ? e.code : e).toBe(code);
    return (e as Error).message;
  }
  throw new Error(`expected ${code}`);
}

async function run(
  log: LogSource,
  prev?: WitnessResult,
  extra: Partial<Parameters<typeof witnessLog>[0]> = {},
) {
  return witnessLog({ source: log, orgId: ORG, state: prev?.state, ...extra });
}

describe('witnessLog', () => {
  it('pins the key on first use, then follows an honest log through every size', async () => {
    const log = new TestLog();
    log.append(1);
    let r = await run(log);
    expect(r.outcome).toBe('first-seen');
    expect(r.state.verifierKey).toBe(log.verifierKey);
    for (const grow of [0, 1, 2, 5, 8, 1, 17, 64, 3, 300]) {
      log.append(grow);
      const next = await run(log, r);
      expect(next.outcome).toBe(grow === 0 ? 'unchanged' : 'extended');
      expect(next.treeSize).toBe(log.leaves.length);
      expect(next.previousTreeSize).toBe(r.treeSize);
      expect(next.state.checks).toBe(r.state.checks + 1);
      r = next;
    }
  });

  it('accepts a first checkpoint of an empty log and any growth from it', async () => {
    const log = new TestLog();
    const r = await run(log);
    expect(r.treeSize).toBe(0);
    log.append(3);
    expect((await run(log, r)).outcome).toBe('extended');
  });

  it('detects rewritten history at a larger size', async () => {
    const log = new TestLog();
    log.append(10);
    const r = await run(log);
    log.leaves[3] = new TextEncoder().encode('rewritten');
    log.append(5);
    const msg = await expectCode(run(log, r), 'LOG_FORK');
    expect(msg).toMatch(/not an extension .*size 10/);
  });

  it('detects a different root at the same size', async () => {
    const log = new TestLog();
    log.append(7);
    const r = await run(log);
    log.leaves[6] = new TextEncoder().encode('other');
    await expectCode(run(log, r), 'LOG_FORK');
  });

  it('detects a log that shrank', async () => {
    const log = new TestLog();
    log.append(9);
    const r = await run(log);
    log.leaves.pop();
    const msg = await expectCode(run(log, r), 'LOG_ROLLBACK');
    expect(msg).toMatch(/8 entries.*had 9/);
  });

  it('refuses a tampered consistency proof', async () => {
    const log = new TestLog();
    log.append(6);
    const r = await run(log);
    log.append(6);
    log.tamperProof = true;
    await expectCode(run(log, r), 'LOG_FORK');
  });

  it('refuses a replaced log key, and a key that differs from the one given out of band', async () => {
    const log = new TestLog();
    log.append(2);
    const r = await run(log);
    const other = new TestLog();
    log.signer = other.signer;
    log.verifierKey = other.verifierKey;
    await expectCode(run(log, r), 'LOG_KEY_MISMATCH');
    await expectCode(
      run(new TestLog(), undefined, { expectedVerifierKey: log.verifierKey }),
      'LOG_KEY_MISMATCH',
    );
  });

  it('refuses a checkpoint signed by another key under the pinned key name', async () => {
    const log = new TestLog();
    log.append(2);
    const r = await run(log);
    log.signer = new TestLog().signer;
    await expectCode(run(log, r), 'LOG_INVALID');
  });

  it('refuses a state file from another organisation', async () => {
    const log = new TestLog();
    const r = await run(log);
    await expectCode(
      witnessLog({ source: log, orgId: 'BBBBBBBBBBBBBBBBBBBBBB', state: r.state }),
      'STATE_INVALID',
    );
  });

  it('compares checkpoints other parties saw and detects a split view', async () => {
    const log = new TestLog();
    log.append(20);
    const older = log.checkpoint(12);
    const same = log.checkpoint();
    const r = await run(log, undefined, { compare: [older, same] });
    expect(r.compared).toEqual([
      { treeSize: 12, relation: 'consistent' },
      { treeSize: 20, relation: 'same' },
    ]);
    // Another party was shown a different history, signed by the same log key.
    const forked = new TestLog();
    forked.signer = log.signer;
    forked.leaves = log.leaves.slice(0, 15);
    forked.leaves[2] = new TextEncoder().encode('what bob was shown');
    await expectCode(run(log, undefined, { compare: [forked.checkpoint()] }), 'LOG_FORK');
    forked.append(5);
    await expectCode(run(log, undefined, { compare: [forked.checkpoint()] }), 'LOG_FORK');
  });

  it('cosigns a verified checkpoint with the witness key', async () => {
    const dir = mkdtempSync(join(tmpdir(), 'custos-witness-'));
    const vkey = createWitnessKey(join(dir, 'witness.key'), 'auditor.example/witness');
    const log = new TestLog();
    log.append(4);
    const r = await run(log, undefined, {
      cosigner: loadWitnessKey(join(dir, 'witness.key'), () => 1_800_000_000),
    });
    const opened = openCheckpoint(r.cosigned!, [log.verifierKey, vkey], ORIGIN);
    expect(opened.cosignatures).toHaveLength(1);
    expect(opened.checkpoint.treeSize).toBe(4);
    expect(() => createWitnessKey(join(dir, 'witness.key'), 'x')).toThrow(/never overwritten/);
  });
});

describe('witness state file', () => {
  it('round-trips and refuses damaged files', async () => {
    const dir = mkdtempSync(join(tmpdir(), 'custos-witness-'));
    const path = join(dir, 'state.json');
    expect(readWitnessState(path)).toBeUndefined();
    const log = new TestLog();
    log.append(3);
    const r = await run(log);
    writeWitnessState(path, r.state);
    expect(readWitnessState(path)).toEqual(r.state);
    const text = formatWitnessState(r.state);
    for (const [from, to] of [
      ['"treeSize": 3', '"treeSize": -3'],
      ['"treeSize": 3', '"treeSize": "3"'],
      ['"version": 1', '"version": 2'],
      ['"format": "custos-witness-state"', '"format": "x"'],
    ] as const) {
      expect(() => parseWitnessState(text.replace(from, to))).toThrow(/malformed/);
    }
    expect(() => parseWitnessState('{')).toThrow(/not JSON/);
    writeFileSync(path, '[]');
    expect(() => readWitnessState(path)).toThrow(/top level/);
  });
});
