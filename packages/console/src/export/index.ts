/** Public surface of the export library: formats, custody manifest, RSMF checks and offline verification. */
export { buildExport, writeExport, DEFAULT_APPLICATION } from './build-export.js';
export type { BuildOptions, BuiltExport, ExportFile } from './build-export.js';
export { EXPORT_FORMATS, MAX_RSMF_EVENTS, PROGRESS_EVERY } from './export-types.js';
export type {
  ExportBatch,
  ExportFormat,
  ExportGapDeclaration,
  ExportInput,
  ExportLogProof,
  ExportOptions,
  ExportProgress,
  ExportRecord,
  ExportSummary,
} from './export-types.js';
export { ExportError, isExportError, EXPORT_ERROR_CODES } from './export-error.js';
export type { ExportErrorCode, ExportErrorSubject } from './export-error.js';
export {
  buildCustody,
  parseCustody,
  serializeCustody,
  CUSTODY_MANIFEST_FILE,
  SEALED_RECORDS_FILE,
} from './custody-manifest.js';
export type { CustodyManifest, CustodyRecord, CustodyBatch } from './custody-manifest.js';
export { checkCustody } from './custody-check.js';
export type { CustodyGapDeclaration, DeclaredLostRun, GapReport, SequenceHole } from './custody-gaps.js';
export { fetchGapEvidence } from './gap-evidence.js';
export type { CustodyReport, CustodyCheckOptions } from './custody-check.js';
export { EXPORT_FILES_NAME } from './export-files.js';
export { rsmfFileProblems, rsmfManifestProblems, rsmfZipProblems, assertRsmfFile } from './rsmf-check.js';
export type { RsmfContents } from './rsmf-check.js';
export { verifyExportDir } from './verify-export-dir.js';
export type { VerifyExportOptions, VerifyExportReport } from './verify-export-dir.js';
export { fetchExportRecords } from './export-fetch.js';
export type {
  ExportQuery,
  FetchCounts,
  FetchExportOptions,
  FetchedExport,
  OpenAttachment,
} from './export-fetch.js';
export { checkExportDestination, publishExport } from './export-publish.js';
export {
  checkDeviceEnrolments,
  deviceKey,
  parseDeviceEnrolments,
  provenDeviceUsers,
  serializeDeviceEnrolments,
  DEVICE_ENROLMENTS_FILE,
} from './device-enrolments.js';
export type { DeviceEnrolmentProof } from './device-enrolments.js';
export { fetchEnrolmentEvidence } from './enrolment-evidence.js';
