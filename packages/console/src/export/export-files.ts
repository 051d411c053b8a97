/**
 * `export-files.json`: the list of every other file of an export with its SHA-256 and
 * size, and the custody manifest's hash. `custos verify` starts here: an unlisted file, a
 * missing one or one byte changed anywhere is named before anything else is checked.
 */
import { ExportError, parseExportJson } from './export-error.js';
import { fromHex, sha256Hex } from './byte-encoding.js';
import { EXPORT_FORMATS, type ExportFormat } from './export-types.js';

/** File name of the file list. */
export const EXPORT_FILES_NAME = 'export-files.json';
/** Value of its `format` field. */
export const EXPORT_FILES_FORMAT = 'custos-export-files';

/** One listed file. */
export interface ListedFile {
  readonly path: string;
  readonly sha256: string;
  readonly size: number;
}

/** The file list. */
export interface ExportFileList {
  readonly format: typeof EXPORT_FILES_FORMAT;
  readonly version: 1;
  readonly exportFormat: ExportFormat;
  readonly custodyManifestSha256: string;
  readonly files: readonly ListedFile[];
}

/** Builds and serialises the list for `files` (paths relative, '/'-separated). */
export function serializeFileList(
  exportFormat: ExportFormat,
  custodyManifestSha256: string,
  files: readonly { path: string; bytes: Uint8Array }[],
): Uint8Array {
  const list: ExportFileList = {
    format: EXPORT_FILES_FORMAT,
    version: 1,
    exportFormat,
    custodyManifestSha256,
    files: files
      .map((f) => ({ path: f.path, sha256: sha256Hex(f.bytes), size: f.bytes.length }))
      .sort((a, b) => (a.path < b.path ? -1 : a.path > b.path ? 1 : 0)),
  };
  return Buffer.from(`${JSON.stringify(list, null, 1)}\n`, 'utf8');
}

const malformed = (m: string): ExportError =>
  new ExportError('EXPORT_MALFORMED', `${EXPORT_FILES_NAME}: ${m}`, { file: EXPORT_FILES_NAME });

const SAFE_PATH = /^(?!\/)(?!.*(?:^|\/)\.\.?(?:\/|$))[A-Za-z0-9._/-]+$/;

/** Parses the list strictly (canonical bytes, safe relative paths, no duplicates). */
export function parseFileList(bytes: Uint8Array): ExportFileList {
  const o = parseExportJson(bytes, EXPORT_FILES_NAME) as Partial<ExportFileList> | null;
  if (typeof o !== 'object' || o === null) throw malformed('not an object');
  if (o.format !== EXPORT_FILES_FORMAT || o.version !== 1)
    throw malformed('not a version 1 Custos file list');
  if (!(EXPORT_FORMATS as readonly unknown[]).includes(o.exportFormat))
    throw malformed('unknown exportFormat');
  if (typeof o.custodyManifestSha256 !== 'string' || fromHex(o.custodyManifestSha256)?.length !== 32)
    throw malformed('custodyManifestSha256 is not a hex SHA-256');
  if (!Array.isArray(o.files)) throw malformed('files is not a list');
  const seen = new Set<string>();
  for (const [i, item] of (o.files as unknown[]).entries()) {
    const f = item as Partial<ListedFile> | null;
    const ok =
      typeof f === 'object' &&
      f !== null &&
      typeof f.path === 'string' &&
      SAFE_PATH.test(f.path) &&
      typeof f.sha256 === 'string' &&
      fromHex(f.sha256)?.length === 32 &&
      typeof f.size === 'number' &&
      Number.isSafeInteger(f.size) &&
      f.size >= 0;
    if (!ok || f === null) throw malformed(`files[${i}] is not a safe relative path with a SHA-256 and size`);
    const path = f.path;
    if (seen.has(path)) throw malformed(`${path} is listed twice`);
    seen.add(path);
  }
  const list = o as ExportFileList;
  if (`${JSON.stringify(list, null, 1)}\n` !== Buffer.from(bytes).toString('utf8'))
    throw malformed('is not in its canonical form (a byte was changed, added or removed)');
  return list;
}
