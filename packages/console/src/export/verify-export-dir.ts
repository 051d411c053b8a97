/**
 * Offline verification of an export directory (docs/exports.md §6), first failure named:
 * 1. export-files.json parses and is canonical; every file is listed, present, and has
 *    its listed SHA-256 and size (one changed byte anywhere stops here, naming the file);
 * 2. the custody manifest is the one the list names;
 * 3. custody: log key (and the pinned key), checkpoint signatures, sealed bytes → record
 *    hashes, headers, batch signatures, inclusion proofs, device chains;
 * 3a. device identity keys: every batch's key against its device's enrolment commitment in
 *    the log (device-enrolments.json, proven against a checkpoint signed by the same key);
 * 4. the rendered files: every .rsmf passes the RSMF checks, carries this manifest's hash
 *    and names only records the manifest proves; EML and JSON carry this manifest's hash;
 * 5. text binding (manifest version 2): each record opens with its record key, and the
 *    rendering equals what the opened records produce (text-check.ts).
 */
import { existsSync, readdirSync, readFileSync, statSync } from 'node:fs';
import { dirname, join, relative, sep } from 'node:path';
import { sha256Hex } from './byte-encoding.js';
import { checkCustody, type CustodyReport } from './custody-check.js';
import type { TextBindingReport } from './text-binding.js';
import { checkExportText } from './text-check.js';
import { CUSTODY_MANIFEST_FILE, parseCustody } from './custody-manifest.js';
import { checkDeviceEnrolments, DEVICE_ENROLMENTS_FILE } from './device-enrolments.js';
import { EML_MANIFEST_HASH_HEADER } from './eml-export.js';
import { ExportError, parseExportJson } from './export-error.js';
import { EXPORT_FILES_NAME, parseFileList } from './export-files.js';
import type { ExportFormat, ExportProgress } from './export-types.js';
import { header, parseMessage, type MimePart } from './mime.js';
import { MANIFEST_HASH_HEADER } from './rsmf-file.js';
import { assertRsmfFile } from './rsmf-check.js';

// How far up from a file given as PATH to look for the export's file list.
const MAX_DEPTH = 4;

/** Options of {@link verifyExportDir}. */
export interface VerifyExportOptions {
  /** The log verifier key to trust; the export's own key is otherwise only self-consistent. */
  readonly pinnedLogKey?: string;
  readonly onProgress?: ExportProgress;
}

/** What a successful verification established. */
export interface VerifyExportReport extends CustodyReport, TextBindingReport {
  readonly format: ExportFormat;
  readonly files: number;
  readonly manifestSha256: string;
  readonly custodian: string;
  readonly range: { readonly begin: string; readonly end: string };
  readonly rsmfFiles: number;
  /** Devices whose identity key was checked against their enrolment in the log. */
  readonly identityKeysChecked: number;
}

function listDir(root: string): string[] {
  const out: string[] = [];
  const walk = (d: string): void => {
    for (const e of readdirSync(d, { withFileTypes: true })) {
      const p = join(d, e.name);
      if (e.isDirectory()) walk(p);
      else out.push(relative(root, p).split(sep).join('/'));
    }
  };
  walk(root);
  return out;
}

// parseMessage's failures carry RSMF_INVALID (it was written for .rsmf files); an .eml is not one.
function parseEml(b: Uint8Array, rel: string): MimePart {
  try {
    return parseMessage(Buffer.from(b).toString('utf8'), rel);
  } catch (e) {
    throw new ExportError(
      'EXPORT_MALFORMED',
      `${rel} is not a MIME message${e instanceof Error ? ` (${e.message})` : ''}`,
      { file: rel },
      e,
    );
  }
}

/** Verifies the export at `path` (its directory, or any file in it); throws ExportError at the first failure. */
export function verifyExportDir(path: string, o: VerifyExportOptions = {}): VerifyExportReport {
  let root = path;
  try {
    if (!statSync(path).isDirectory()) root = dirname(path);
  } catch (e) {
    throw new ExportError('FILE_MISSING', `cannot read ${path}`, { file: path }, e);
  }
  // A file inside the export (e.g. rsmf/x.rsmf): its export is the nearest ancestor with a file list.
  for (let up = root, i = 0; i < MAX_DEPTH; i++, up = dirname(up)) {
    if (existsSync(join(up, EXPORT_FILES_NAME))) {
      root = up;
      break;
    }
  }
  const read = (rel: string): Uint8Array => {
    try {
      return readFileSync(join(root, ...rel.split('/')));
    } catch (e) {
      throw new ExportError('FILE_MISSING', `${rel} is listed but missing`, { file: rel }, e);
    }
  };
  let listBytes: Uint8Array;
  try {
    listBytes = readFileSync(join(root, EXPORT_FILES_NAME));
  } catch (e) {
    throw new ExportError(
      'FILE_MISSING',
      `${EXPORT_FILES_NAME} not found: ${root} is not a Custos export`,
      { file: EXPORT_FILES_NAME },
      e,
    );
  }
  const list = parseFileList(listBytes);
  const listed = new Map(list.files.map((f) => [f.path, f]));
  for (const f of listDir(root))
    if (f !== EXPORT_FILES_NAME && !listed.has(f))
      throw new ExportError('FILE_UNLISTED', `${f} is not listed in ${EXPORT_FILES_NAME}`, { file: f });
  const contents = new Map<string, Uint8Array>();
  for (const f of list.files) {
    const b = read(f.path);
    if (b.length !== f.size || sha256Hex(b) !== f.sha256)
      throw new ExportError(
        'FILE_HASH_MISMATCH',
        `${f.path} does not match its SHA-256 in ${EXPORT_FILES_NAME}`,
        { file: f.path },
      );
    contents.set(f.path, b);
  }
  const manifestBytes = contents.get(CUSTODY_MANIFEST_FILE);
  if (manifestBytes === undefined)
    throw new ExportError('FILE_MISSING', `${CUSTODY_MANIFEST_FILE} is not listed`, {
      file: CUSTODY_MANIFEST_FILE,
    });
  const manifestSha256 = sha256Hex(manifestBytes);
  if (manifestSha256 !== list.custodyManifestSha256)
    throw new ExportError(
      'MANIFEST_HASH_MISMATCH',
      `${CUSTODY_MANIFEST_FILE} is not the manifest ${EXPORT_FILES_NAME} names`,
      { file: CUSTODY_MANIFEST_FILE },
    );
  const m = parseCustody(manifestBytes);
  if (m.exportFormat !== list.exportFormat)
    throw new ExportError(
      'EXPORT_MALFORMED',
      `${EXPORT_FILES_NAME} and ${CUSTODY_MANIFEST_FILE} disagree on the format`,
      { file: EXPORT_FILES_NAME },
    );
  const sealed = contents.get(m.sealedRecords.file);
  if (sealed === undefined)
    throw new ExportError('FILE_MISSING', `${m.sealedRecords.file} is not listed`, {
      file: m.sealedRecords.file,
    });
  const report = checkCustody(m, sealed, o);
  const identityKeysChecked = checkDeviceEnrolments(m, contents.get(DEVICE_ENROLMENTS_FILE));
  const proven = new Set(m.records.map((r) => r.hash));
  const hashHeader = (rel: string, name: string, value: string | undefined): void => {
    if (value !== manifestSha256)
      throw new ExportError(
        'MANIFEST_HASH_MISMATCH',
        `${rel}: ${name} does not name this export's custody manifest`,
        { file: rel },
      );
  };
  let rsmfFiles = 0;
  for (const [rel, b] of contents) {
    if (rel.endsWith('.rsmf')) {
      const r = assertRsmfFile(b, rel);
      hashHeader(rel, MANIFEST_HASH_HEADER, r.headers.get(MANIFEST_HASH_HEADER.toLowerCase()));
      for (const e of Array.isArray(r.manifest.events) ? (r.manifest.events as unknown[]) : []) {
        const custom = (e as { custom?: { name: string; value: string }[] }).custom ?? [];
        for (const c of custom)
          if (c.name === 'custos_records')
            for (const h of c.value.split(' '))
              if (!proven.has(h))
                throw new ExportError(
                  'RSMF_INVALID',
                  `${rel}: an event names record ${h.slice(0, 16)}…, which the custody manifest does not prove`,
                  { file: rel, record: h },
                );
      }
      rsmfFiles++;
    } else if (rel.endsWith('.eml')) {
      hashHeader(rel, EML_MANIFEST_HASH_HEADER, header(parseEml(b, rel), EML_MANIFEST_HASH_HEADER));
    } else if (rel === 'export.json') {
      const doc = parseExportJson(b, rel);
      const named =
        typeof doc === 'object' && doc !== null
          ? (doc as Record<string, unknown>).custodyManifestSha256
          : undefined;
      hashHeader(rel, 'custodyManifestSha256', typeof named === 'string' ? named : undefined);
    }
  }
  // 5. The text: a version-2 manifest's record keys open every record, and the rendering
  // must be what those records produce (text-check.ts).
  const text = checkExportText(m, sealed, manifestSha256, contents);
  return {
    ...report,
    ...text,
    format: m.exportFormat,
    files: list.files.length + 1,
    manifestSha256,
    custodian: m.custodian,
    range: m.range,
    rsmfFiles,
    identityKeysChecked,
  };
}
