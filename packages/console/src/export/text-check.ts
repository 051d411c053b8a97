/**
 * The text-binding step of `custos verify` and of every export (docs/exports.md §6 step 7):
 * a version-2 manifest's record keys open every record, and the export's rendering is
 * compared with what those records produce; a version-1 manifest is reported as not
 * checked (it carries no keys).
 */
import type { CustodyManifest } from './custody-manifest.js';
import { DEVICE_ENROLMENTS_FILE } from './device-enrolments.js';
import { compareJson } from './text-compare-json.js';
import { compareEml, compareMbox } from './text-compare-mail.js';
import { compareRsmf } from './text-compare-rsmf.js';
import { checkRecordKeys, openWithRecordKeys, type TextBindingReport } from './text-binding.js';

export { checkRecordKeys };

/**
 * Checks the text of the export whose files are `contents` (path → bytes) against the
 * records of `m`; throws RECORD_KEY_INVALID or TEXT_MISMATCH naming the first difference.
 */
export function checkExportText(
  m: CustodyManifest,
  sealed: Uint8Array,
  manifestSha256: string,
  contents: ReadonlyMap<string, Uint8Array>,
): TextBindingReport {
  if (m.version === 1) return { textBinding: 'not-checked', textCompared: [] };
  const opened = openWithRecordKeys(m, sealed, manifestSha256, contents.get(DEVICE_ENROLMENTS_FILE));
  switch (m.exportFormat) {
    case 'json':
      compareJson(opened, contents);
      break;
    case 'rsmf':
      compareRsmf(opened, contents);
      break;
    case 'eml':
      compareEml(opened, contents);
      break;
    case 'mbox':
      compareMbox(opened, contents);
      break;
    case 'pdf':
      // The PDF is a rendering (laid out, and non-WinAnsi text replaced); the records are
      // opened and their facts checked above, the PDF's text is not compared.
      return { textBinding: 'records-opened', textCompared: [] };
  }
  return { textBinding: 'verified', textCompared: [m.exportFormat] };
}
