/**
 * The ceremony journal (docs/ceremony.md §7): `journal.json` in the staging folder records
 * each completed step, so a rerun with the same `--out` resumes after the last one. It holds
 * ids and public values, plus the first admin enrolment code while it is needed (the file is
 * 0600 and wiped at the end); never a private key, share or passphrase.
 */
import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import type { ArchivePolicyName } from '@custos/core';
import type { CreateOrgRequest, CreateOrgResponse } from './ceremony-api.js';
import { ConsoleError } from './console-error.js';
import { exists, writePrivateFile } from './private-files.js';

/** Journal file name inside the staging folder. */
export const JOURNAL_FILE = 'journal.json';

/** Steps in order; a journal's `done` lists those completed. */
export const CEREMONY_STEPS = [
  'keys-sealed',
  'org-created',
  'material-written',
  'device-enrolled',
  'buckets-registered',
  'admin-code-issued',
  'device-revoked',
] as const;

/** One step of the ceremony that the journal records. */
export type JournalStep = (typeof CEREMONY_STEPS)[number];

/** What the journal holds. */
export interface Journal {
  readonly version: 1;
  readonly ceremonyId: string;
  /** Ceremony time (ms): fixes the bucket periods and windows across a resume. */
  readonly startedAt: number;
  readonly options: {
    readonly server: string;
    readonly name: string;
    readonly officers: number;
    readonly threshold: number;
    /** Absent in journals written before archive policies: `required`. */
    readonly archivePolicy?: ArchivePolicyName;
  };
  readonly request: CreateOrgRequest;
  done: JournalStep[];
  org?: CreateOrgResponse;
  device?: { deviceId: string };
  admin?: { expiresAt: number };
}

/** Reads the journal of a staging folder, or undefined when there is none. */
export function readJournal(staging: string): Journal | undefined {
  const path = join(staging, JOURNAL_FILE);
  if (!exists(path)) return undefined;
  let j: Journal;
  try {
    j = JSON.parse(readFileSync(path, 'utf8')) as Journal;
  } catch (e) {
    throw new ConsoleError(
      'STAGING_MISMATCH',
      `the ceremony journal ${path} is unreadable; remove the staging folder to start over`,
      {
        cause: e,
      },
    );
  }
  if (j.version !== 1 || typeof j.ceremonyId !== 'string' || !Array.isArray(j.done)) {
    throw new ConsoleError('STAGING_MISMATCH', `the ceremony journal ${path} is not a version 1 journal`);
  }
  return j;
}

/** Writes the journal atomically (0600). */
export function writeJournal(staging: string, j: Journal): void {
  writePrivateFile(join(staging, JOURNAL_FILE), `${JSON.stringify(j, null, 2)}\n`);
}

/** Marks `step` done and writes the journal. */
export function markDone(staging: string, j: Journal, step: JournalStep): void {
  if (!j.done.includes(step)) j.done.push(step);
  writeJournal(staging, j);
}

/** True when the journal records `step`. */
export function isDone(j: Journal, step: JournalStep): boolean {
  return j.done.includes(step);
}
