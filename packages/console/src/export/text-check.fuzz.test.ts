/**
 * Fuzzing the text binding of `custos verify` (text-check.ts): a v2 export whose
 * export.json, .rsmf, .eml or .mbox bytes are mutated (byte replacements, truncation,
 * inserted text) either still verifies or fails with an ExportError — never a raw
 * TypeError, RangeError or another error type. Also: an unmutated file always verifies.
 */
import fc from 'fast-check';
import { beforeAll, describe, expect, it } from 'vitest';
import { buildExport } from './build-export.js';
import { parseCustody, type CustodyManifest } from './custody-manifest.js';
import { ExportError } from './export-error.js';
import { buildTestArchive, mixedEvents } from './export-test-support.js';
import type { ExportFormat } from './export-types.js';
import { checkExportText } from './text-check.js';

/** A thirtieth of the configured runs per format: each run renders the export again (a few ms). */
const RUNS = Math.max(20, Math.ceil(Number(process.env.CUSTOS_FUZZ_RUNS ?? 3000) / 30));

interface Built {
  m: CustodyManifest;
  sealed: Uint8Array;
  sha: string;
  files: Map<string, Uint8Array>;
}
const built = new Map<ExportFormat, Built>();

beforeAll(async () => {
  const archive = await buildTestArchive(mixedEvents(), 3);
  for (const format of ['json', 'rsmf', 'eml', 'mbox'] as const) {
    const b = await buildExport(archive.input, { format });
    const files = new Map(b.files.map((f) => [f.path, f.bytes]));
    built.set(format, {
      m: parseCustody(files.get('custody-manifest.json')!),
      sealed: files.get('sealed-records.bin')!,
      sha: b.manifestSha256,
      files,
    });
  }
});

const mutation = fc.oneof(
  fc.record({ kind: fc.constant('set' as const), at: fc.nat(), value: fc.integer({ min: 0, max: 255 }) }),
  fc.record({ kind: fc.constant('cut' as const), at: fc.nat(), value: fc.constant(0) }),
  fc.record({
    kind: fc.constant('insert' as const),
    at: fc.nat(),
    value: fc.integer({ min: 0x20, max: 0x7e }),
  }),
);

function mutate(
  b: Uint8Array,
  ms: readonly { kind: 'set' | 'cut' | 'insert'; at: number; value: number }[],
): Uint8Array {
  let out = Uint8Array.from(b);
  for (const m of ms) {
    const at = out.length === 0 ? 0 : m.at % out.length;
    if (m.kind === 'set' && out.length > 0) out[at] = m.value;
    else if (m.kind === 'cut') out = out.slice(0, at);
    else if (m.kind === 'insert')
      out = Uint8Array.from([...out.subarray(0, at), m.value, ...out.subarray(at)]);
  }
  return out;
}

describe('text binding under mutated files', () => {
  for (const format of ['json', 'rsmf', 'eml', 'mbox'] as const)
    it(`${format}: passes or fails with an ExportError`, () => {
      const b = built.get(format)!;
      const paths = [...b.files.keys()].filter((p) =>
        format === 'json' ? p === 'export.json' : p.endsWith(`.${format}`),
      );
      expect(checkExportText(b.m, b.sealed, b.sha, b.files).textBinding).toBe('verified');
      let failed = 0;
      fc.assert(
        fc.property(fc.nat(), fc.array(mutation, { minLength: 1, maxLength: 4 }), (which, ms) => {
          const path = paths[which % paths.length]!;
          const files = new Map(b.files);
          files.set(path, mutate(b.files.get(path)!, ms));
          try {
            checkExportText(b.m, b.sealed, b.sha, files);
          } catch (e) {
            if (!(e instanceof ExportError)) throw e;
            failed++;
          }
        }),
        { numRuns: RUNS, seed: 4242 },
      );
      expect(failed).toBeGreaterThan(0);
    });
});
