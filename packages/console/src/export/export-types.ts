/**
 * The export library's input model: archive records as an officer's console holds them
 * after opening — the sealed bytes and their hash, the header, the decrypted body, the
 * device batch signature that covers the record, and the log inclusion proof with the
 * signed checkpoint it is proven against — plus names and attachment bytes.
 */
import type { RecordBody, RecordHash, RecordHeader } from '@custos/core';
import type { DeviceEnrolmentProof } from './device-enrolments.js';

/** The export formats. */
export const EXPORT_FORMATS = ['rsmf', 'eml', 'mbox', 'pdf', 'json'] as const;
/** One of {@link EXPORT_FORMATS}. */
export type ExportFormat = (typeof EXPORT_FORMATS)[number];

/**
 * A device batch signature (docs/archive-format.md §6): what an offline verifier needs to
 * check it. Records of one batch share one object (or equal ones).
 */
export interface ExportBatch {
  /** Sequence number of the batch's first record. */
  readonly firstSeq: number;
  /** Every record hash the batch signs, in sequence order (not only the exported ones). */
  readonly hashes: readonly RecordHash[];
  /** 64-byte XEdDSA signature. */
  readonly signature: Uint8Array;
  /** The device's Signal identity public key (33 bytes, 0x05 prefix). */
  readonly identityKey: Uint8Array;
}

/** Where a record sits in the organisation's log, and the proof of it. */
export interface ExportLogProof {
  /** Leaf index of the record's `archive-record` log entry. */
  readonly index: number;
  /** When the server accepted the record (the log entry's `ts`, ms since the epoch). */
  readonly loggedAt: number;
  /** RFC 9162 inclusion proof of that leaf in the checkpoint's tree. */
  readonly proof: readonly Uint8Array[];
  /** The signed checkpoint note (C2SP tlog-checkpoint) the proof leads to. */
  readonly checkpoint: string;
}

/**
 * A device's signed gap declaration (docs/archive-format.md §6.1) as the server serves it
 * (`GET …/archive/gaps`), with the proof of its `archive-gap` log entry. An export carries
 * the declarations of its devices that fall in or touch the exported sequence numbers, so
 * an auditor sees a hole the device declared lost as the device's signed statement, not as
 * an unexplained hole (custody-gaps.ts).
 */
export interface ExportGapDeclaration {
  /** The signed declaration document, exactly as the device uploaded it (message ‖ signature). */
  readonly document: Uint8Array;
  /** Its `archive-gap` entry: index, time (the entry's `ts`), inclusion proof and checkpoint. */
  readonly log: ExportLogProof;
}

/** One opened archive record. */
export interface ExportRecord {
  /** The record's exact sealed bytes (docs/archive-format.md §5). */
  readonly sealed: Uint8Array;
  /** SHA-256 of `sealed`. */
  readonly hash: RecordHash;
  readonly header: RecordHeader;
  /** The decrypted body. Attachment keys in it are never written to an export. */
  readonly body: RecordBody;
  readonly batch: ExportBatch;
  readonly log: ExportLogProof;
  /** Decrypted attachment bytes by blob id, when the console fetched them. */
  readonly attachments?: ReadonlyMap<string, Uint8Array>;
  /**
   * The record's own key (docs/archive-format.md §4.2; core `recordKeyOf`), which opens this
   * record and nothing else. A version-2 custody manifest carries it so that `custos verify`
   * can open the record and compare it with the exported text; required for version 2.
   * MUST NOT log: key material.
   */
  readonly recordKey?: Uint8Array;
}

/** Records done so far out of the total; called at most every {@link PROGRESS_EVERY} records and at the end. */
export type ExportProgress = (done: number, total: number) => void;

/** How often the progress callback fires, in records. */
export const PROGRESS_EVERY = 500;

/** Everything an export needs. */
export interface ExportInput {
  readonly records: readonly ExportRecord[];
  /** The user whose records these are (or the matter's custodian), as a user address. */
  readonly custodian: string;
  /** Display names by user address; missing ones show the address. */
  readonly displayNames?: ReadonlyMap<string, string>;
  /** The organisation's log: origin and Ed25519 verifier key (signed-note vkey). */
  readonly log: { readonly origin: string; readonly verifierKey: string };
  /** The application name written into exports (default "Custos"). */
  readonly application?: string;
  /** When the export was made (default now); fixed in tests so outputs are reproducible. */
  readonly exportedAt?: number;
  /** A stable id for this export (default: derived from the record hashes). */
  readonly exportId?: string;
  /**
   * The `device-enrolled` acts of the records' devices with their inclusion proofs
   * (device-enrolments.ts); required: every device's identity key is checked against them.
   */
  readonly enrolments?: readonly DeviceEnrolmentProof[];
  /**
   * The records' devices' accepted gap declarations in (or touching) the exported sequence
   * numbers, with proofs (custody manifest version 3); none when the devices declared none.
   */
  readonly gapDeclarations?: readonly ExportGapDeclaration[];
}

/** Options of one export run. */
export interface ExportOptions {
  readonly format: ExportFormat;
  /** Output directory; must not exist or be empty. */
  readonly out: string;
  readonly onProgress?: ExportProgress;
  /** Events per RSMF file before splitting (default and maximum {@link MAX_RSMF_EVENTS}). */
  readonly maxEventsPerFile?: number;
}

/** The largest number of events in one RSMF file (compliance.md). */
export const MAX_RSMF_EVENTS = 10_000;

/** What an export wrote. */
export interface ExportSummary {
  readonly format: ExportFormat;
  readonly out: string;
  readonly records: number;
  /** Files written, relative to `out`, custody files included. */
  readonly files: readonly string[];
  /** SHA-256 (hex) of custody-manifest.json. */
  readonly manifestSha256: string;
  /** The checkpoint(s) the records are proven against: `origin size root` each. */
  readonly checkpoints: readonly string[];
}
