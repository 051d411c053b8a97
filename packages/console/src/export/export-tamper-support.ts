/**
 * Tamper tools for tests (exported with `exportTesting`): what a dishonest exporter would
 * do to change an export's text and still have every file hash match — edit the text of
 * an .rsmf transcript or of its zipped manifest, then rewrite the file list (and the
 * manifest hash where JSON names it).
 */
import { readdirSync, readFileSync, writeFileSync } from 'node:fs';
import { join, relative, sep } from 'node:path';
import { unzipSync, zipSync, type Zippable } from 'fflate';
import { sha256Hex } from './byte-encoding.js';
import { CUSTODY_MANIFEST_FILE } from './custody-manifest.js';
import { EXPORT_FILES_NAME, parseFileList, serializeFileList } from './export-files.js';
import { base64Lines, header, headerParam, parseMessage, partBytes, quotedPrintable } from './mime.js';
import { RSMF_MANIFEST_NAME } from './rsmf-file.js';

const CRLF = '\r\n';

/**
 * Replaces the first `from` with `to` in an .rsmf file's transcript (decoded, edited,
 * re-encoded quoted-printable) or in its rsmf_manifest.json (unzipped, edited, re-zipped);
 * throws when `from` is not there.
 */
export function editRsmf(
  bytes: Uint8Array,
  where: 'transcript' | 'manifest',
  from: string,
  to: string,
): Uint8Array {
  const text = Buffer.from(bytes).toString('utf8');
  const boundary = headerParam(header(parseMessage(text), 'content-type'), 'boundary')!;
  const delim = `--${boundary}`;
  const marker = where === 'transcript' ? `quoted-printable${CRLF}${CRLF}` : `base64${CRLF}${CRLF}`;
  const start = text.indexOf(marker) + marker.length;
  const end = text.indexOf(delim, start);
  const encoded = text.slice(start, end);
  let replaced: string;
  if (where === 'transcript') {
    const plain = Buffer.from(
      partBytes({
        headers: [['content-transfer-encoding', 'quoted-printable']],
        body: encoded.replace(/\r\n/g, '\n'),
      }),
    ).toString('utf8');
    if (!plain.includes(from)) throw new Error(`"${from}" is not in the transcript`);
    replaced = quotedPrintable(plain.replace(from, to));
  } else {
    const files = unzipSync(new Uint8Array(Buffer.from(encoded.replace(/\s+/g, ''), 'base64')));
    const m = Buffer.from(files[RSMF_MANIFEST_NAME]!).toString('utf8');
    if (!m.includes(from)) throw new Error(`"${from}" is not in the manifest`);
    const z: Zippable = {};
    for (const [n, b] of Object.entries(files)) z[n] = [b, { level: 0 }];
    z[RSMF_MANIFEST_NAME] = [Buffer.from(m.replace(from, to), 'utf8'), { level: 0 }];
    replaced = base64Lines(zipSync(z, { level: 0 }));
  }
  return Buffer.from(text.slice(0, start) + replaced + text.slice(end), 'utf8');
}

function listFiles(root: string): string[] {
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

/**
 * Rewrites `dir`'s export-files.json for the files as they now are, after a test edited
 * some. When custody-manifest.json changed, its new hash replaces the old one in
 * export.json first (the JSON export names it; other formats carry it in wrapped text).
 */
export function relistExport(dir: string): void {
  const list = parseFileList(readFileSync(join(dir, EXPORT_FILES_NAME)));
  const manifestSha256 = sha256Hex(readFileSync(join(dir, CUSTODY_MANIFEST_FILE)));
  if (manifestSha256 !== list.custodyManifestSha256) {
    const p = join(dir, 'export.json');
    try {
      writeFileSync(p, readFileSync(p, 'utf8').replaceAll(list.custodyManifestSha256, manifestSha256));
    } catch {
      // no export.json in this export
    }
  }
  const files = listFiles(dir)
    .filter((f) => f !== EXPORT_FILES_NAME)
    .map((path) => ({ path, bytes: readFileSync(join(dir, ...path.split('/'))) }));
  writeFileSync(join(dir, EXPORT_FILES_NAME), serializeFileList(list.exportFormat, manifestSha256, files));
}
