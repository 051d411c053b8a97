/**
 * Gap declarations in exports (custody manifest version 3, custody-gaps.ts), over real test
 * archives (libsignal-signed declarations, their archive-gap entries in the same Merkle log
 * as the records): an export whose hole is exactly declared verifies and lists the declared
 * run; a hole without a declaration is still reported as unexplained; a flipped signature
 * byte, a wrong proof, facts that differ from the signed document, a declaration over an
 * exported record, one outside the exported run and two overlapping ones fail, naming the
 * declaration; version-2 manifests still verify (and carry no declarations).
 */
import { mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { buildExport, writeExport } from './build-export.js';
import {
  CUSTODY_MANIFEST_FILE,
  parseCustody,
  serializeCustody,
  type CustodyManifest,
} from './custody-manifest.js';
import type { CustodyGapDeclaration } from './custody-gaps.js';
import { isExportError } from './export-error.js';
import { relistExport } from './export-tamper-support.js';
import {
  body,
  buildTestArchive,
  ORG,
  T0,
  type TestArchive,
  type TestEvent,
  exportFailure,
} from './export-test-support.js';
import type { ExportInput } from './export-types.js';
import { verifyExportDir } from './verify-export-dir.js';

const PHONE = 'alice-phone';
/** Eight records on Alice's phone, two on Bob's laptop (which declares nothing). */
const EVENTS: TestEvent[] = [
  ...Array.from({ length: 8 }, (_, i) => ({
    device: PHONE,
    body: body({ messageId: `m${i}`, text: `message ${i}`, sentAt: T0 + i * 60_000 }),
  })),
  ...Array.from({ length: 2 }, (_, i) => ({
    device: 'bob-laptop',
    body: body({ messageId: `b${i}`, sender: 'acme.bob', text: `reply ${i}`, sentAt: T0 + i * 60_000 + 1 }),
  })),
];
/** Log index of the first gap declaration: the archive logs it after its ten records. */
const FIRST_GAP_INDEX = EVENTS.length;

let declared: TestArchive;
const dirs: string[] = [];
const fresh = (): string => {
  const d = mkdtempSync(join(tmpdir(), 'custos-export-gaps-'));
  dirs.push(d);
  return join(d, 'out');
};

beforeAll(async () => {
  declared = await buildTestArchive(EVENTS, 3, [{ device: PHONE, firstSeq: 3, lastSeq: 5 }]);
});
afterAll(() => {
  for (const d of dirs) rmSync(d, { recursive: true, force: true });
});

/** `input` without its gap declarations: what an export before version 3 carried. */
function withoutDeclarations(input: ExportInput): ExportInput {
  const { gapDeclarations: _dropped, ...rest } = input;
  return rest;
}

async function written(input: ExportInput, version?: 2 | 3): Promise<string> {
  const out = fresh();
  await writeExport(input, {
    format: 'json',
    out,
    ...(version === undefined ? {} : { custodyVersion: version }),
  });
  return out;
}

/** What a dishonest exporter would do: edit the manifest, then rewrite every hash that names it. */
function tamper(out: string, edit: (g: CustodyGapDeclaration) => CustodyGapDeclaration): void {
  const m = parseCustody(readFileSync(join(out, CUSTODY_MANIFEST_FILE)));
  const changed: CustodyManifest = { ...m, gapDeclarations: m.gapDeclarations!.map(edit) };
  writeFileSync(join(out, CUSTODY_MANIFEST_FILE), serializeCustody(changed));
  relistExport(out);
}

const flipByte = (b64: string, at: (length: number) => number): string => {
  const b = Buffer.from(b64, 'base64');
  const i = at(b.length);
  b[i] = b[i]! ^ 1;
  return b.toString('base64');
};

describe('gap declarations in a custody manifest', () => {
  it('carries a declared run (version 3) and verify lists it as declared lost, not as a hole', async () => {
    const out = await written(declared.input);
    const m = parseCustody(readFileSync(join(out, CUSTODY_MANIFEST_FILE)));
    expect(m.version).toBe(3);
    // The manifest entry carries what verify then reports (and its proof and document).
    const run = {
      org: ORG,
      device: PHONE,
      firstSeq: 3,
      lastSeq: 5,
      reason: 'server-restored',
      logIndex: FIRST_GAP_INDEX,
    };
    expect(m.gapDeclarations).toMatchObject([run]);
    const r = verifyExportDir(out, { pinnedLogKey: declared.verifierKey });
    expect(r.records).toBe(7);
    expect(r.gapDeclarations).toBe('verified');
    expect(r.declaredLost).toEqual([run]);
    expect(r.unexplainedHoles).toEqual([]);
  });

  it('still reports a hole no declaration explains, and verifies as before', async () => {
    const r = verifyExportDir(await written(withoutDeclarations(declared.input)));
    expect(r.declaredLost).toEqual([]);
    expect(r.unexplainedHoles).toEqual([{ org: ORG, device: PHONE, firstSeq: 3, lastSeq: 5 }]);
    // A declaration explains its run only: the rest of a wider hole stays unexplained.
    const input = {
      ...declared.input,
      records: declared.input.records.filter((x) => !(x.header.device === PHONE && x.header.seq === 6)),
    };
    const wider = verifyExportDir(await written(input));
    expect(wider.declaredLost.map((g) => [g.firstSeq, g.lastSeq])).toEqual([[3, 5]]);
    expect(wider.unexplainedHoles).toEqual([{ org: ORG, device: PHONE, firstSeq: 6, lastSeq: 6 }]);
  });

  it('fails on a flipped signature byte, a wrong proof, and facts the signed document does not state', async () => {
    const sig = await written(declared.input);
    tamper(sig, (g) => ({ ...g, document: flipByte(g.document, (n) => n - 1) }));
    const bad = exportFailure(() => verifyExportDir(sig));
    expect(bad.code).toBe('SIGNATURE_INVALID');
    expect(bad.message).toContain(`gap declaration of device ${PHONE}, records 3–5`);
    expect(bad.subject.field).toBe('gapDeclarations[0]');

    const proof = await written(declared.input);
    tamper(proof, (g) => ({ ...g, proof: [flipByte(g.proof[0]!, () => 0), ...g.proof.slice(1)] }));
    expect(exportFailure(() => verifyExportDir(proof)).code).toBe('PROOF_INVALID');
    const index = await written(declared.input);
    tamper(index, (g) => ({ ...g, logIndex: g.logIndex - 1 }));
    expect(exportFailure(() => verifyExportDir(index)).message).toMatch(/not proven in the log at index/);

    const facts = await written(declared.input);
    tamper(facts, (g) => ({ ...g, lastSeq: 6 }));
    const wrong = exportFailure(() => verifyExportDir(facts));
    expect(wrong.code).toBe('GAP_DECLARATION_INVALID');
    expect(wrong.message).toContain('differ from the signed document');
  });

  it('refuses a declaration over an exported record, one outside the exported run, and two that overlap', async () => {
    const over = await buildTestArchive(EVENTS, 3, [{ device: PHONE, firstSeq: 3, lastSeq: 4, keep: true }]);
    await expect(buildExport(over.input, { format: 'json' })).rejects.toSatisfy(
      (e) =>
        isExportError(e, 'GAP_DECLARATION_CONFLICT') &&
        /declares record 3 lost, which the export holds/.test(e.message),
    );
    const early = { ...declared.input, records: declared.input.records.filter((x) => x.header.seq < 2) };
    await expect(buildExport(early, { format: 'json' })).rejects.toSatisfy(
      (e) => isExportError(e, 'GAP_DECLARATION_CONFLICT') && /neither falls in nor touches/.test(e.message),
    );
    const twice = await buildTestArchive(EVENTS, 3, [
      { device: PHONE, firstSeq: 2, lastSeq: 3 },
      { device: PHONE, firstSeq: 3, lastSeq: 4 },
    ]);
    await expect(buildExport(twice.input, { format: 'json' })).rejects.toSatisfy(
      (e) =>
        isExportError(e, 'GAP_DECLARATION_CONFLICT') &&
        e.message.includes('records 3–4') &&
        e.message.includes('overlaps the declaration of records 2–3'),
    );
  });

  it('refuses a declaration that does not link to the exported records around it, and one of a device the export does not hold', async () => {
    // Signed by the device, proven in the log, exactly the hole — but its prev (resume) is not
    // the hash of the exported record before (the link of the record after) the run.
    for (const [misLinked, words] of [
      ['prev', 'does not follow exported record 2'],
      ['resume', 'exported record 6 does not link to the declaration'],
    ] as const) {
      const bad = await buildTestArchive(EVENTS, 3, [{ device: PHONE, firstSeq: 3, lastSeq: 5, misLinked }]);
      await expect(buildExport(bad.input, { format: 'json' })).rejects.toSatisfy(
        (e) => isExportError(e, 'GAP_DECLARATION_CONFLICT') && e.message.includes(words),
      );
    }
    // Only Bob's records exported: Alice's phone's declaration has nothing to be checked against.
    const bobOnly = {
      ...declared.input,
      records: declared.input.records.filter((x) => x.header.device !== PHONE),
    };
    await expect(buildExport(bobOnly, { format: 'json' })).rejects.toSatisfy(
      (e) => isExportError(e, 'GAP_DECLARATION_INVALID') && /holds no record of that device/.test(e.message),
    );
  });

  it('still verifies a version-2 manifest (no declarations carried), and keeps the versions apart', async () => {
    const v2 = await written(withoutDeclarations(declared.input), 2);
    const m = parseCustody(readFileSync(join(v2, CUSTODY_MANIFEST_FILE)));
    expect(m.version).toBe(2);
    expect('gapDeclarations' in m).toBe(false);
    const r = verifyExportDir(v2, { pinnedLogKey: declared.verifierKey });
    expect(r.textBinding).toBe('verified');
    expect(r.gapDeclarations).toBe('not-carried');
    expect(r.unexplainedHoles).toEqual([{ org: ORG, device: PHONE, firstSeq: 3, lastSeq: 5 }]);
    await expect(buildExport(declared.input, { format: 'json', custodyVersion: 2 })).rejects.toSatisfy(
      (e) => isExportError(e, 'EXPORT_INVALID_INPUT') && /cannot carry gap declarations/.test(e.message),
    );
    expect(() => parseCustody(serializeCustody({ ...m, gapDeclarations: [] }))).toThrow(
      /version-2 manifest has no gapDeclarations/,
    );
    const v3 = parseCustody(readFileSync(join(await written(declared.input), CUSTODY_MANIFEST_FILE)));
    const { gapDeclarations: _none, ...bare } = v3;
    expect(() => parseCustody(serializeCustody(bare))).toThrow(/gapDeclarations is not a list/);
    expect(() =>
      parseCustody(
        serializeCustody({ ...v3, gapDeclarations: [{ ...v3.gapDeclarations![0]!, reason: 'forgot' }] }),
      ),
    ).toThrow(/gapDeclarations\[0\]\.reason is not a gap reason/);
  });
});
