/** Public surface of core/log-entry: the typed, versioned entries of an organisation's log. */
export {
  LOG_ENTRY_VERSION,
  MAX_LOG_ENTRY_BYTES,
  LOG_ENTRY_HASH_BYTES,
  LOG_ENTRY_TYPES,
  HOLD_ACTIONS,
  isLogEntryType,
  isWellFormedKind,
  validateLogEntry,
  type LogEntryType,
  type LogEntryCommon,
  type ArchiveRecordEntry,
  type RelayReceiptEntry,
  type KeyEventEntry,
  type AuditEventEntry,
  type HoldEntry,
  type DispositionEntry,
  type ArchiveGapEntry,
  type LogEntry,
} from './log-entry.js';
export {
  encodeLogEntry,
  encodeArchiveRecordEntries,
  decodeLogEntry,
  logEntryLeafHash,
  peekLogEntryType,
  RELAY_RECEIPT_MARK,
  type ArchiveRecordRun,
  type ArchiveRecordFields,
} from './log-entry-codec.js';
export { encodeActDocument, type ActDocumentFields } from './act-document.js';
