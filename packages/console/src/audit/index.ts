/** Public surface of console/audit: the verified list of officer and admin acts (docs/officers.md "Audit"). */
export { AUDIT_STATE_FILE, checkActDocument, officerAudit } from './officer-audit.js';
export {
  lostLogStateWarning,
  PROFILE_LOG_STATE_FILE,
  readProfileLogState,
  trustCheckpoint,
} from './log-state.js';
export type { TrustedCheckpoint } from './log-state.js';
export type { AuditOptions, AuditResult, VerifiedAct } from './officer-audit.js';
export { actKind, describeAct } from './audit-words.js';
export type { ActDocument } from './audit-words.js';
