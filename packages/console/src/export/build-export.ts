/**
 * Running an export: build the custody manifest, check every record's custody (sealed
 * bytes → hash, batch signature, inclusion proof, checkpoint signature, chain) before
 * anything is written, fold the records into conversations, render the format, and list
 * every file with its hash. {@link buildExport} is pure (files in memory);
 * {@link writeExport} writes them to a new directory.
 */
import { mkdirSync, readdirSync, writeFileSync, existsSync } from 'node:fs';
import { dirname, join } from 'node:path';
import { sha256Hex, toHex } from './byte-encoding.js';
import { checkCustody } from './custody-check.js';
import {
  buildCustody,
  checkpointSummary,
  CUSTODY_MANIFEST_FILE,
  SEALED_RECORDS_FILE,
  serializeCustody,
  type CustodyManifestVersion,
} from './custody-manifest.js';
import { DEVICE_ENROLMENTS_FILE, enrolledUsers, serializeDeviceEnrolments } from './device-enrolments.js';
import { emlFiles, mboxFiles } from './eml-export.js';
import { buildConversations, directionView } from './event-model.js';
import { ExportError } from './export-error.js';
import { EXPORT_FILES_NAME, serializeFileList } from './export-files.js';
import type { ExportFormat, ExportInput, ExportProgress, ExportSummary } from './export-types.js';
import { EXPORT_FORMATS, MAX_RSMF_EVENTS } from './export-types.js';
import { jsonFiles } from './json-export.js';
import type { RenderContext } from './render-context.js';
import { buildRsmfFile } from './rsmf-file.js';
import { sliceConversations } from './rsmf-slices.js';
import { checkRecordKeys } from './text-check.js';

/** Default application name in exports. */
export const DEFAULT_APPLICATION = 'Custos';

/** A file of an export, path relative to the export directory. */
export interface ExportFile {
  readonly path: string;
  readonly bytes: Uint8Array;
}

/** An export built in memory. */
export interface BuiltExport {
  readonly files: readonly ExportFile[];
  readonly manifestSha256: string;
  readonly checkpoints: readonly string[];
}

/** Options of {@link buildExport}. */
export interface BuildOptions {
  readonly format: ExportFormat;
  /**
   * Custody manifest version (default 2, which needs every record's `recordKey`); 1 writes
   * the old layout without record keys, kept for compatibility tests.
   */
  readonly custodyVersion?: CustodyManifestVersion;
  readonly onProgress?: ExportProgress;
  readonly maxEventsPerFile?: number;
}

/** Builds every file of an export in memory; throws ExportError when a record does not verify. */
export async function buildExport(input: ExportInput, o: BuildOptions): Promise<BuiltExport> {
  if (!(EXPORT_FORMATS as readonly string[]).includes(o.format))
    throw new ExportError(
      'EXPORT_INVALID_INPUT',
      `unknown export format; use one of ${EXPORT_FORMATS.join(', ')}`,
    );
  const exportId =
    input.exportId ??
    sha256Hex(
      input.records
        .map((r) => toHex(r.hash))
        .sort()
        .join('\n'),
    ).slice(0, 16);
  const application = input.application ?? DEFAULT_APPLICATION;
  const { manifest, sealed } = buildCustody(input, o.format, exportId, application, o.custodyVersion);
  checkCustody(manifest, sealed, o.onProgress === undefined ? {} : { onProgress: o.onProgress });
  const enrolments = serializeDeviceEnrolments(manifest, input.enrolments ?? []);
  // The devices' users, as the checked enrolments prove them: whose device archived each record.
  const users = enrolledUsers(manifest, enrolments);
  const manifestBytes = serializeCustody(manifest);
  const manifestSha256 = sha256Hex(manifestBytes);
  const cpSummary = manifest.checkpoints.map(checkpointSummary);
  const cpOf = new Map(manifest.records.map((r) => [r.hash, cpSummary[r.checkpoint]!]));
  const ctx: RenderContext = {
    custodian: input.custodian,
    // Version 2 renders with the names the manifest records, so the verifier renders alike.
    names:
      manifest.displayNames === undefined
        ? input.displayNames
        : new Map(Object.entries(manifest.displayNames)),
    application,
    exportId,
    exportedAt: Date.parse(manifest.exportedAt),
    manifestSha256,
    checkpointOf: (h) => cpOf.get(h) ?? 'unknown',
  };
  const convs = buildConversations(input.records, directionView(input.custodian, users));
  let rendered: ExportFile[];
  switch (o.format) {
    case 'rsmf':
      rendered = sliceConversations(convs, o.maxEventsPerFile ?? MAX_RSMF_EVENTS).map((s) => {
        const f = buildRsmfFile(ctx, s);
        return { path: `rsmf/${f.name}`, bytes: f.bytes };
      });
      break;
    case 'eml':
      rendered = emlFiles(ctx, convs);
      break;
    case 'mbox':
      rendered = mboxFiles(ctx, convs);
      break;
    case 'json':
      rendered = jsonFiles(ctx, input.records, convs);
      break;
    case 'pdf': {
      // Loaded only here: pdf-lib is about half of @custos/console's load time, which every
      // `custos console …` command paid before it did anything.
      const { pdfTranscript } = await import('./pdf-export.js');
      rendered = [{ path: 'transcript.pdf', bytes: await pdfTranscript(ctx, convs, manifest.range) }];
      break;
    }
  }
  const files: ExportFile[] = [
    ...rendered,
    { path: CUSTODY_MANIFEST_FILE, bytes: manifestBytes },
    { path: SEALED_RECORDS_FILE, bytes: sealed },
    { path: DEVICE_ENROLMENTS_FILE, bytes: enrolments },
  ];
  // Text binding at export time: every record key opens its record (an export whose keys
  // would not verify is never written); see checkRecordKeys for why the renderings are
  // compared by `custos verify` and not again here.
  checkRecordKeys(manifest, sealed);
  files.push({ path: EXPORT_FILES_NAME, bytes: serializeFileList(o.format, manifestSha256, files) });
  return { files, manifestSha256, checkpoints: cpSummary };
}

/** Builds an export and writes it into `out` (created; it must not exist or be empty). */
export async function writeExport(
  input: ExportInput,
  o: BuildOptions & { readonly out: string },
): Promise<ExportSummary> {
  if (existsSync(o.out) && readdirSync(o.out).length > 0)
    throw new ExportError('EXPORT_INVALID_INPUT', `${o.out} exists and is not empty; choose a new directory`);
  const built = await buildExport(input, o);
  mkdirSync(o.out, { recursive: true });
  for (const f of built.files) {
    const path = join(o.out, ...f.path.split('/'));
    mkdirSync(dirname(path), { recursive: true });
    writeFileSync(path, f.bytes, { flag: 'wx' });
  }
  return {
    format: o.format,
    out: o.out,
    records: input.records.length,
    files: built.files.map((f) => f.path),
    manifestSha256: built.manifestSha256,
    checkpoints: built.checkpoints,
  };
}
