/**
 * Dispositions as an archive copy takes them (docs/officers.md, "Your own copy of the
 * archive"): verified as the completeness check verifies them (completeness/disposed-records.ts),
 * then settled against what the copy recorded on earlier runs.
 *
 * A destruction the copy verified is final in the copy. Each run asks the server again for the
 * certificates, plans and approvals, and a server could withhold one, serve another, or serve a
 * destroyed record again: taken on this run's word alone, the copy would then count the bucket
 * live and merge the wraps the server (or an officer's profile) still offers back into it. So
 * the first run that verifies a bucket's destruction records it in the state file with its proof
 * (certificate, plan, log index, execution time), and later runs keep it whatever the server
 * says; when the server no longer bears it out, the run names the bucket and what the server said
 * (a finding, exit 1) and leaves the bucket's file in the copy as it was.
 */
import { existsSync } from 'node:fs';
import { TILE_WIDTH } from '@custos/core';
import type { OfficerSession } from '../officer-session.js';
import {
  accountDisposed,
  keptRecords,
  readDispositions,
  type CertifiedDisposition,
} from '../completeness/disposed-records.js';
import type { IndexedEntry } from '../completeness/verified-log.js';
import { dispositionFile, writeCopyFile, type CopyState, type RecordedDestruction } from './copy-files.js';
import { decodeCopyEntry, readCopyBundle } from './copy-log.js';

/** Why a disposition (or one bucket of it) did not verify on this run. */
interface DispositionProblem {
  readonly certificateHash: string;
  /** The bucket, when the certificate verified and only this bucket did not. */
  readonly bucketId: string | null;
  readonly text: string;
}

/** What verified dispositions let the copy leave out, on this run's answers. */
export interface Disposals {
  /** Buckets whose keys a verified certificate says were destroyed, each with its proof. */
  readonly keysDestroyed: ReadonlyMap<string, Omit<RecordedDestruction, 'recordedAt'>>;
  /** Leaf indexes of the records verified dispositions account for (the server no longer serves them). */
  readonly leaves: ReadonlySet<number>;
  readonly problems: readonly DispositionProblem[];
}

/** No disposition in the log: nothing to leave out. */
export const NO_DISPOSALS: Disposals = { keysDestroyed: new Map(), leaves: new Set(), problems: [] };

const b64u = (b: Uint8Array): string => Buffer.from(b).toString('base64url');

/**
 * The dispositions of the copy's log, verified as the completeness check verifies them
 * (certificate, plan, quorum of approvals by the officer list in force, the plan's leaves
 * recomputed from the log, records a hold kept still served), and their certificates stored
 * in the copy. Reads the copy's whole log into memory, as the completeness check does; only
 * when the log holds a disposition.
 */
export async function verifiedDisposals(
  session: OfficerSession,
  out: string,
  treeSize: number,
  log: { readonly note: string; readonly pin: { origin: string; verifierKey: string } },
): Promise<Disposals> {
  const entries: IndexedEntry[] = [];
  /** Index of each `disposition` entry, by certificate hash and bucket. */
  const entryIndex = new Map<string, number>();
  for (let b = 0; b * TILE_WIDTH < treeSize; b++) {
    const bundle = readCopyBundle(out, b, treeSize);
    for (let i = 0; i < bundle.raw.length; i++) {
      const index = b * TILE_WIDTH + i;
      const entry = decodeCopyEntry(out, bundle, index);
      entries.push({ index, entry });
      if (entry.type === 'disposition')
        entryIndex.set(`${Buffer.from(entry.hash).toString('hex')} ${entry.bucket}`, index);
    }
  }
  const verified = {
    origin: log.pin.origin,
    verifierKey: log.pin.verifierKey,
    treeSize,
    checkpoint: log.note,
    entries,
  };
  const dispositions = await readDispositions(session, verified);
  const served = await keptRecords(session, entries, dispositions);
  const account = accountDisposed(session.orgId, entries, dispositions, served);
  const keysDestroyed = new Map<string, Omit<RecordedDestruction, 'recordedAt'>>();
  const problems: DispositionProblem[] = [];
  for (const d of account.dispositions) {
    const certificateHash = d.certificateHash;
    if (d.problem !== null || d.planId === null || d.executedAt === null) {
      const text = `the disposition at log index ${d.logIndex} does not verify: ${d.problem ?? 'no plan'}`;
      problems.push({ certificateHash, bucketId: null, text });
      continue;
    }
    for (const b of d.buckets) {
      if (b.problem !== null)
        problems.push({
          certificateHash,
          bucketId: b.bucketId,
          text: `the disposition at log index ${d.logIndex}, bucket ${b.bucketId}: ${b.problem}`,
        });
      else if (b.keysDestroyed && !keysDestroyed.has(b.bucketId))
        keysDestroyed.set(b.bucketId, {
          bucketId: b.bucketId,
          certificateHash,
          planId: d.planId,
          logIndex: entryIndex.get(`${certificateHash} ${b.bucketId}`) ?? d.logIndex,
          executedAt: d.executedAt,
        });
    }
  }
  for (const d of dispositions) storeCertificate(out, d);
  return { keysDestroyed, leaves: account.leaves, problems };
}

/** Keeps a verified certificate's bytes in the copy (what `custos verify copy` checks disposed records against). */
function storeCertificate(out: string, d: CertifiedDisposition): void {
  if (d.problem !== null || d.certificateBytes === undefined) return;
  const file = dispositionFile(out, d.certificateHash);
  if (!existsSync(file))
    writeCopyFile(file, {
      format: 'custos-copy-disposition',
      certificateHash: d.certificateHash,
      planId: d.planId,
      approvers: d.approvers,
      certificate: b64u(d.certificateBytes),
    });
}

/**
 * A destruction the copy recorded that this run's answers from the server do not bear out: the
 * copy keeps it as recorded, and says so.
 */
export interface DestructionFinding {
  readonly bucketId: string;
  /** The destruction as the copy recorded it; null when an older copy recorded only the bucket. */
  readonly recorded: RecordedDestruction | null;
  /** What the server's answers gave on this run instead. */
  readonly server: string;
}

/** Destructions after this run: the recorded ones kept, the newly verified ones added. */
export interface SettledDestructions {
  /** Every bucket the copy holds destroyed: its wraps are never merged back. */
  readonly destroyed: ReadonlySet<string>;
  /** Destroyed buckets this run did not verify again: their files stay as the copy holds them. */
  readonly unconfirmed: ReadonlySet<string>;
  /** The state's `destructions`: what was recorded, unchanged, and what this run verified first. */
  readonly records: readonly RecordedDestruction[];
  readonly findings: readonly DestructionFinding[];
}

/**
 * Whether the log may hold a destruction to settle: a `disposition` entry, or a destruction the
 * copy recorded (an older copy counted no disposition entries, yet may list destroyed buckets).
 */
export function hasDispositions(prev: CopyState | undefined, dispositionEntries: number): boolean {
  return dispositionEntries > 0 || (prev?.disposedBuckets.length ?? 0) > 0;
}

/**
 * Settles this run's verified destructions against those the copy recorded (`prev`): a recorded
 * destruction stays, unchanged, whatever this run verified; one this run does not verify again
 * is a finding naming what the server said. A destruction verified for the first time is
 * recorded with its proof, at `now`. A bucket an older copy listed destroyed without a proof
 * gets its proof recorded the first time a run verifies it again.
 */
export function settleDestructions(
  prev: CopyState | undefined,
  disposals: Disposals,
  now: string,
): SettledDestructions {
  const recorded = new Map((prev?.destructions ?? []).map((d) => [d.bucketId, d]));
  const records: RecordedDestruction[] = [...recorded.values()];
  const destroyed = new Set([...(prev?.disposedBuckets ?? []), ...disposals.keysDestroyed.keys()]);
  const unconfirmed = new Set<string>();
  const findings: DestructionFinding[] = [];
  for (const bucketId of [...destroyed].sort()) {
    const had = recorded.get(bucketId);
    const proof = disposals.keysDestroyed.get(bucketId);
    if (proof !== undefined) {
      if (had === undefined) records.push({ ...proof, recordedAt: now });
      continue;
    }
    unconfirmed.add(bucketId);
    findings.push({ bucketId, recorded: had ?? null, server: whatServerSaid(bucketId, had, disposals) });
  }
  records.sort((a, b) => a.logIndex - b.logIndex || (a.bucketId < b.bucketId ? -1 : 1));
  return { destroyed, unconfirmed, records, findings };
}

/** Why this run did not verify a destruction the copy holds, in the words of its disposition's problem. */
function whatServerSaid(
  bucketId: string,
  had: RecordedDestruction | undefined,
  disposals: Disposals,
): string {
  const mine = disposals.problems.filter((p) =>
    had === undefined ? p.bucketId === bucketId : p.certificateHash === had.certificateHash,
  );
  const problem = mine.find((p) => p.bucketId === bucketId) ?? mine.find((p) => p.bucketId === null);
  if (problem !== undefined) return problem.text;
  return had === undefined
    ? 'no disposition the server serves now verifies that its keys were destroyed'
    : `its certificate ${had.certificateHash} no longer verifies as destroying its keys`;
}

/** The problems of this run's dispositions, less those a finding already says (printed as UNVERIFIED). */
export function otherProblems(disposals: Disposals, settled: SettledDestructions): string[] {
  const said = new Set(settled.findings.map((f) => f.server));
  return disposals.problems.map((p) => p.text).filter((text) => !said.has(text));
}
