/** Public surface of console/completeness: the completeness report and the alerts listing (docs/officers.md). */
export { analyseCompleteness, devicesInLog } from './completeness-findings.js';
export type {
  CompletenessFinding,
  CompletenessInput,
  CompletenessPolicy,
  DeviceLogView,
  GapFinding,
  HandedInRecords,
  HoldMismatchFinding,
  InvalidRecordFinding,
  RevokedDeviceFinding,
  ServedRecords,
  SilentDeviceFinding,
  UnmatchedReceiptFinding,
  UnverifiedDispositionFinding,
} from './completeness-findings.js';
export { accountDisposed, NOTHING_DISPOSED, readDispositions } from './disposed-records.js';
export type {
  CertifiedDisposition,
  DisposedBucketAccount,
  DisposedRecords,
  DispositionAccount,
} from './disposed-records.js';
export { auditDocumentHash } from '../audit/audit-document-hash.js';
export { runCompleteness, SINCE_SLACK_MS } from './run-completeness.js';
export type {
  CompletenessDevice,
  CompletenessOptions,
  CompletenessReport,
  VerifiedPolicy,
} from './run-completeness.js';
export { setCompletenessPolicy } from './completeness-policy.js';
export type { StoredPolicy } from './completeness-policy.js';
export { runAlerts } from './run-alerts.js';
export { applyAcknowledgements, readAcknowledgements } from './finding-acknowledgements.js';
export { acknowledgeFindings, checkFindingIds, checkReason } from './acknowledge-findings.js';
export type { CurrentFindings } from './acknowledge-findings.js';
export type {
  AcknowledgedFinding,
  AcknowledgementsRead,
  ExceededAcknowledgement,
  OpenFinding,
  VerifiedAcknowledgement,
} from './finding-acknowledgements.js';
export { FINDING_ID_KINDS, findingId, findingIdOrg, revokedIdParts } from './finding-ids.js';
export {
  acceptedText,
  beyondAccepted,
  declarationsDigestOf,
  formatRevokedState,
  parseLegacyRevokedId,
  parseRevokedState,
  revokedState,
} from './revoked-acknowledgements.js';
export type { DeclarationsDigest, RevokedState } from './revoked-acknowledgements.js';
export type { IdentifiedFinding } from './finding-ids.js';
export type { Alert, AlertsOptions, AlertsReport, SecurityAlert } from './run-alerts.js';
export { DEFAULT_VOLUME_LIMITS, volumeAlerts } from './volume-alerts.js';
export type { VolumeAlert, VolumeLimits, VolumeMeasure } from './volume-alerts.js';
export { readVerifiedLog, verifiedLogReader } from './verified-log.js';
export type { IndexedEntry, VerifiedLog, VerifiedLogReader } from './verified-log.js';
