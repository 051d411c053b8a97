/**
 * Device identity keys in exports (device-enrolments.ts): an export carries each device's
 * `device-enrolled` act with its inclusion proof, and both the export build and `custos
 * verify` check every batch's identity key against the committed hash. Tamper tests: a key
 * swapped into the manifest and the batch re-signed with the attacker's key (which the
 * custody checks alone accept) fails with IDENTITY_KEY_MISMATCH naming the device, on the
 * manifest and on an export directory; missing evidence, a broken proof, a checkpoint by
 * another key, a pre-commitment enrolment and evidence for the wrong key all fail too.
 */
import { mkdtempSync, readFileSync, rmSync, unlinkSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { PrivateKey } from '@signalapp/libsignal-client';
import { deviceId, orgId, signBatch, type RecordHash } from '@custos/core';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { auditListingFor } from '../search/enrolment-test-support.js';
import { buildExport, writeExport } from './build-export.js';
import { sha256Hex } from './byte-encoding.js';
import { checkCustody } from './custody-check.js';
import { parseCustody, serializeCustody, type CustodyManifest } from './custody-manifest.js';
import {
  checkDeviceEnrolments,
  DEVICE_ENROLMENTS_FILE,
  parseDeviceEnrolments,
  serializeDeviceEnrolments,
  type DeviceEnrolmentProof,
} from './device-enrolments.js';
import { enrolmentProofsFor, resignEnrolments } from './enrolment-evidence-test-support.js';
import { ExportError } from './export-error.js';
import { parseFileList, serializeFileList } from './export-files.js';
import {
  buildTestArchive,
  mixedEvents,
  ORG,
  ORIGIN,
  type TestArchive,
  exportFailure,
} from './export-test-support.js';
import { verifyExportDir } from './verify-export-dir.js';

let archive: TestArchive;
let manifest: CustodyManifest;
let sealed: Uint8Array;
let evidence: Uint8Array;
const dirs: string[] = [];

beforeAll(async () => {
  archive = await buildTestArchive(mixedEvents(), 3);
  const built = await buildExport(archive.input, { format: 'json' });
  const file = (p: string): Uint8Array => built.files.find((f) => f.path === p)!.bytes;
  manifest = parseCustody(file('custody-manifest.json'));
  sealed = file('sealed-records.bin');
  evidence = file(DEVICE_ENROLMENTS_FILE);
});
afterAll(() => {
  for (const d of dirs) rmSync(d, { recursive: true, force: true });
});

/** `m` with `device`'s identity key replaced by `attacker`'s and its batches re-signed with it. */
function swapKey(m: CustodyManifest, device: string, attacker: PrivateKey): CustodyManifest {
  return {
    ...m,
    batches: m.batches.map((b) =>
      b.device !== device
        ? b
        : {
            ...b,
            identityKey: Buffer.from(attacker.getPublicKey().serialize()).toString('base64'),
            signature: Buffer.from(
              signBatch(attacker, {
                org: orgId(b.org),
                device: deviceId(b.device),
                firstSeq: b.firstSeq,
                hashes: b.hashes.map((h) => new Uint8Array(Buffer.from(h, 'hex')) as RecordHash),
              }),
            ).toString('base64'),
          },
    ),
  };
}

const devices = (): string[] => [...new Set(manifest.batches.map((b) => b.device))];

describe('device enrolments in exports', () => {
  it('checks every device of the export and round-trips the file', () => {
    expect(checkDeviceEnrolments(manifest, evidence)).toBe(devices().length);
    const parsed = parseDeviceEnrolments(evidence);
    expect(parsed.map((p) => p.device).sort()).toEqual(devices().sort());
    expect(serializeDeviceEnrolments(manifest, parsed)).toEqual(evidence);
  });

  it('refuses a swapped identity key whose batches the attacker re-signed', () => {
    const victim = devices()[0]!;
    const forged = swapKey(manifest, victim, PrivateKey.generate());
    // The custody checks alone accept it: the batch verifies under the key the manifest names.
    expect(() => checkCustody(forged, sealed)).not.toThrow();
    const e = exportFailure(() => checkDeviceEnrolments(forged, evidence));
    expect(e.code).toBe('IDENTITY_KEY_MISMATCH');
    expect(e.message).toContain(`device ${victim}: the identity key that signs its exported records is not`);
  });

  it('fails closed on missing, broken, foreign-signed, legacy or lying evidence', () => {
    const [first, second] = devices();
    const proofs = parseDeviceEnrolments(evidence);
    const without = (d: string): Uint8Array =>
      serializeDeviceEnrolments(
        manifest,
        proofs.filter((p) => p.device !== d),
      );
    const cases: [string, Uint8Array | undefined, RegExp][] = [
      ['ENROLMENT_UNPROVEN', undefined, /has no device-enrolments\.json/],
      ['ENROLMENT_UNPROVEN', without(second!), new RegExp(`device ${second} signs exported records`)],
      [
        'PROOF_INVALID',
        serializeDeviceEnrolments(
          manifest,
          proofs.map((p) => (p.device === first ? { ...p, logIndex: p.logIndex + 1 } : p)),
        ),
        /inclusion proof/,
      ],
      ['CHECKPOINT_INVALID', resignEnrolments(evidence, archive.otherSignerKey), /does not verify/],
      [
        'EXPORT_MALFORMED',
        Buffer.from(Buffer.from(evidence).toString().replace('"version": 1', '"version": 2')),
        /version 1/,
      ],
    ];
    for (const [code, bytes, why] of cases) {
      const e = exportFailure(() => checkDeviceEnrolments(manifest, bytes));
      expect([e.code, e.message]).toEqual([code, expect.stringMatching(why)]);
    }
    // Evidence that commits to another key than the batches carry (the log says so).
    const lying = enrolmentProofsFor(
      ORG,
      { origin: ORIGIN, signerKey: archive.signerKey },
      new Map(devices().map((d) => [d, PrivateKey.generate().getPublicKey().serialize()])),
    );
    expect(
      exportFailure(() => checkDeviceEnrolments(manifest, serializeDeviceEnrolments(manifest, lying))).code,
    ).toBe('IDENTITY_KEY_MISMATCH');
    // A device enrolled before the log committed to identity keys cannot be checked.
    const listing = auditListingFor(
      ORG,
      { origin: ORIGIN, signerKey: archive.signerKey },
      devices().map((d) => ({ deviceId: d, identityKey: null })),
    );
    const legacy: DeviceEnrolmentProof[] = (
      listing.acts as { index: number; entry: string; document: string; proof: string[] }[]
    ).map((a) => ({
      org: ORG,
      device: devices()[a.index]!,
      logIndex: a.index,
      entry: a.entry,
      document: a.document,
      proof: a.proof,
      checkpoint: (listing.checkpoint as { note: string }).note,
    }));
    const e = exportFailure(() =>
      checkDeviceEnrolments(manifest, serializeDeviceEnrolments(manifest, legacy)),
    );
    expect([e.code, e.message]).toEqual([
      'ENROLMENT_UNPROVEN',
      expect.stringMatching(/before the log committed/),
    ]);
  });

  it('an export is not built without enrolment evidence', async () => {
    const { enrolments: _, ...bare } = archive.input;
    const e = await buildExport(bare, { format: 'json' }).then(
      () => undefined,
      (x: unknown) => x,
    );
    expect(e).toBeInstanceOf(ExportError);
    expect((e as ExportError).code).toBe('ENROLMENT_UNPROVEN');
  });

  it('custos verify (directory): a swapped, re-signed key fails naming the device; so does removed evidence', async () => {
    const out = join(mkdtempSync(join(tmpdir(), 'custos-enrolments-')), 'out');
    dirs.push(join(out, '..'));
    await writeExport(archive.input, { format: 'json', out });
    expect(verifyExportDir(out, { pinnedLogKey: archive.verifierKey }).identityKeysChecked).toBe(
      devices().length,
    );
    const victim = devices()[1]!;
    const read = (p: string): Uint8Array => readFileSync(join(out, ...p.split('/')));
    // The attacker rewrites the manifest, the hash export.json names, and the file list.
    const mb = serializeCustody(
      swapKey(parseCustody(read('custody-manifest.json')), victim, PrivateKey.generate()),
    );
    const doc = JSON.parse(Buffer.from(read('export.json')).toString()) as Record<string, unknown>;
    doc.custodyManifestSha256 = sha256Hex(mb);
    writeFileSync(join(out, 'custody-manifest.json'), mb);
    writeFileSync(join(out, 'export.json'), `${JSON.stringify(doc, null, 1)}\n`);
    const relist = (): void => {
      const list = parseFileList(read('export-files.json'));
      const files = list.files
        .filter((f) => f.path !== DEVICE_ENROLMENTS_FILE || dropEvidence === false)
        .map((f) => ({ path: f.path, bytes: read(f.path) }));
      writeFileSync(join(out, 'export-files.json'), serializeFileList('json', sha256Hex(mb), files));
    };
    let dropEvidence = false;
    relist();
    const e = exportFailure(() => verifyExportDir(out, { pinnedLogKey: archive.verifierKey }));
    expect(e.code).toBe('IDENTITY_KEY_MISMATCH');
    expect(e.message).toContain(`device ${victim}`);
    // Removing the evidence (and its listing) does not help.
    dropEvidence = true;
    relist();
    unlinkSync(join(out, DEVICE_ENROLMENTS_FILE));
    expect(exportFailure(() => verifyExportDir(out)).code).toBe('ENROLMENT_UNPROVEN');
  });
});
