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
 * (a finding, exit 1) and leaves the bucket's file in the copy as it was. Records a certificate
 * disposed of are the same: the first run that verifies them records the certificate with its
 * proof (plan, log index, how many records and a digest of their leaf indexes), they stay
 * disposed of, and a run that no longer verifies the same records under it names it (exit 1),
 * whether or not the certificate also destroyed keys.
 */
import { existsSync } from 'node:fs';
import { LeafDigest, TILE_WIDTH } from '@custos/core';
import type { OfficerSession } from '../officer-session.js';
import {
  accountDisposed,
  keptRecords,
  readDispositions,
  type CertifiedDisposition,
} from '../completeness/disposed-records.js';
import type { IndexedEntry } from '../completeness/verified-log.js';
import {
  dispositionFile,
  writeCopyFile,
  type CopyState,
  type RecordedDestruction,
  type RecordedDisposal,
} from './copy-files.js';
import { decodeCopyEntry, readCopyBundle } from './copy-log.js';

/** Why a disposition (or one bucket of it) did not verify on this run. */
export interface DispositionProblem {
  readonly certificateHash: string;
  /** The bucket, when the certificate verified and only this bucket did not. */
  readonly bucketId: string | null;
  /** The buckets the certificate's `disposition` entries in the log name. */
  readonly buckets: readonly string[];
  readonly text: string;
}

/** What verified dispositions let the copy leave out, on this run's answers. */
export interface Disposals {
  /** Buckets whose keys a verified certificate says were destroyed, each with its proof. */
  readonly keysDestroyed: ReadonlyMap<string, Omit<RecordedDestruction, 'recordedAt'>>;
  /** Certificates that disposed of records, by hash, each with its proof. */
  readonly recordsDisposed: ReadonlyMap<string, Omit<RecordedDisposal, 'recordedAt'>>;
  /** Leaf indexes of the records verified dispositions account for (the server no longer serves them). */
  readonly leaves: ReadonlySet<number>;
  readonly problems: readonly DispositionProblem[];
}

/** No disposition in the log: nothing to leave out. */
export const NO_DISPOSALS: Disposals = {
  keysDestroyed: new Map(),
  recordsDisposed: new Map(),
  leaves: new Set(),
  problems: [],
};

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
  /** The buckets of each certificate's `disposition` entries. */
  const entryBuckets = new Map<string, string[]>();
  for (let b = 0; b * TILE_WIDTH < treeSize; b++) {
    const bundle = readCopyBundle(out, b, treeSize);
    for (let i = 0; i < bundle.raw.length; i++) {
      const index = b * TILE_WIDTH + i;
      const entry = decodeCopyEntry(out, bundle, index);
      entries.push({ index, entry });
      if (entry.type === 'disposition') {
        const hash = Buffer.from(entry.hash).toString('hex');
        entryIndex.set(`${hash} ${entry.bucket}`, index);
        entryBuckets.set(hash, [...(entryBuckets.get(hash) ?? []), entry.bucket]);
      }
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
  const recordsDisposed = new Map<string, Omit<RecordedDisposal, 'recordedAt'>>();
  const problems: DispositionProblem[] = [];
  for (const d of account.dispositions) {
    const certificateHash = d.certificateHash;
    const buckets = entryBuckets.get(certificateHash) ?? [];
    if (d.problem !== null || d.planId === null || d.executedAt === null) {
      const text = `the disposition at log index ${d.logIndex} does not verify: ${d.problem ?? 'no plan'}`;
      problems.push({ certificateHash, bucketId: null, buckets, text });
      continue;
    }
    const leaves = account.leavesByCertificate.get(certificateHash) ?? [];
    if (leaves.length > 0)
      recordsDisposed.set(certificateHash, {
        certificateHash,
        planId: d.planId,
        logIndex: d.logIndex,
        records: leaves.length,
        leavesDigest: leavesDigest(leaves),
      });
    for (const b of d.buckets) {
      if (b.problem !== null)
        problems.push({
          certificateHash,
          bucketId: b.bucketId,
          buckets,
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
  return { keysDestroyed, recordsDisposed, leaves: account.leaves, problems };
}

/** The digest a recorded disposal keeps of its leaf indexes (ascending): core's LeafDigest, hex. */
export function leavesDigest(leaves: readonly number[]): string {
  const digest = new LeafDigest();
  for (const i of leaves) digest.add(i);
  return Buffer.from(digest.digest()).toString('hex');
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
  /** The problems of this run's dispositions whose text a finding's `server` states. */
  readonly said: ReadonlySet<DispositionProblem>;
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
  const said = new Set<DispositionProblem>();
  for (const bucketId of [...destroyed].sort()) {
    const had = recorded.get(bucketId);
    const proof = disposals.keysDestroyed.get(bucketId);
    if (proof !== undefined) {
      if (had === undefined) records.push({ ...proof, recordedAt: now });
      continue;
    }
    unconfirmed.add(bucketId);
    const problem = destructionProblem(bucketId, had, disposals);
    if (problem !== undefined) said.add(problem);
    findings.push({
      bucketId,
      recorded: had ?? null,
      server: problem?.text ?? noDestructionProblem(had),
    });
  }
  records.sort((a, b) => a.logIndex - b.logIndex || (a.bucketId < b.bucketId ? -1 : 1));
  return { destroyed, unconfirmed, records, findings, said };
}

/** The problem of this run's dispositions that says why a destruction the copy holds did not verify, if one does. */
function destructionProblem(
  bucketId: string,
  had: RecordedDestruction | undefined,
  disposals: Disposals,
): DispositionProblem | undefined {
  // Without a recorded proof, the problems of this bucket, and those of any certificate whose
  // log entries name it (a certificate that does not verify at all has no bucket of its own).
  const mine = disposals.problems.filter((p) =>
    had === undefined
      ? p.bucketId === bucketId || (p.bucketId === null && p.buckets.includes(bucketId))
      : p.certificateHash === had.certificateHash,
  );
  return mine.find((p) => p.bucketId === bucketId) ?? mine.find((p) => p.bucketId === null);
}

/** What the server's answers gave for a destruction the copy holds when no problem of its dispositions says. */
function noDestructionProblem(had: RecordedDestruction | undefined): string {
  return had === undefined
    ? 'no disposition the server serves now verifies that its keys were destroyed'
    : `its certificate ${had.certificateHash} no longer verifies as destroying its keys`;
}

/**
 * Records the copy holds disposed of that this run's answers from the server do not bear out:
 * the copy keeps them disposed of, and says so. `recorded` is the certificate as the copy
 * recorded it; null for records an older copy disposed of without recording the certificate.
 */
export interface DisposalFinding {
  readonly recorded: RecordedDisposal | null;
  /** Records concerned: the recorded certificate's, or those an older copy disposed of. */
  readonly records: number;
  /** What the server's answers gave on this run instead. */
  readonly server: string;
}

/** Disposals after this run: the recorded ones kept, the newly verified ones added. */
export interface SettledDisposals {
  /** Leaf indexes of every record the copy holds disposed of: never copied again. */
  readonly leaves: ReadonlySet<number>;
  /** The state's `disposals`: what was recorded, unchanged, and what this run verified first. */
  readonly records: readonly RecordedDisposal[];
  readonly findings: readonly DisposalFinding[];
  /** The problems of this run's dispositions whose text a finding's `server` states. */
  readonly said: ReadonlySet<DispositionProblem>;
}

/**
 * Settles this run's verified disposals against those the copy recorded (`prev`), as
 * {@link settleDestructions} does destructions: every record disposed of stays so; a recorded
 * certificate this run does not verify again as disposing of the same records (their count and
 * digest) is a finding naming what the server said; one verified for the first time is recorded
 * at `now`. Records an older copy disposed of without recording their certificate that this
 * run's verified dispositions no longer account for are one finding too.
 */
export function settleDisposals(
  prev: CopyState | undefined,
  disposals: Disposals,
  now: string,
): SettledDisposals {
  const earlier = prev?.disposedLeaves ?? [];
  const leaves = new Set([...earlier, ...disposals.leaves]);
  const recorded = new Map((prev?.disposals ?? []).map((d) => [d.certificateHash, d]));
  const records: RecordedDisposal[] = [...recorded.values()];
  const findings: DisposalFinding[] = [];
  const said = new Set<DispositionProblem>();
  for (const had of recorded.values()) {
    const again = disposals.recordsDisposed.get(had.certificateHash);
    if (again?.records === had.records && again.leavesDigest === had.leavesDigest) continue;
    const mine = disposals.problems.filter((p) => p.certificateHash === had.certificateHash);
    for (const p of mine) said.add(p);
    findings.push({
      recorded: had,
      records: had.records,
      server: mine.length > 0 ? mine.map((p) => p.text).join('; ') : noDisposalProblem(had, again),
    });
  }
  for (const [hash, proof] of disposals.recordsDisposed)
    if (!recorded.has(hash)) records.push({ ...proof, recordedAt: now });
  records.sort((a, b) => a.logIndex - b.logIndex);
  // Leaves an older copy disposed of with no certificate recorded: those beyond what the
  // recorded certificates that failed could account for.
  const unaccounted = earlier.filter((i) => !disposals.leaves.has(i)).length;
  const explained = findings.reduce((n, f) => n + f.records, 0);
  const unrecorded = earlier.length - (prev?.disposals ?? []).reduce((n, d) => n + d.records, 0);
  const legacy = Math.min(unaccounted - explained, unrecorded);
  if (legacy > 0) {
    // Which certificate disposed of them the copy did not record: any that no longer verifies may have.
    const unrecordedProblems = disposals.problems.filter((p) => !recorded.has(p.certificateHash));
    for (const p of unrecordedProblems) said.add(p);
    findings.push({
      recorded: null,
      records: legacy,
      server:
        unrecordedProblems.length > 0
          ? unrecordedProblems.map((p) => p.text).join('; ')
          : 'no disposition the server serves now verifies that they were disposed of',
    });
  }
  return { leaves, records, findings, said };
}

/** Why this run did not verify a recorded disposal again, when no problem of its disposition says. */
function noDisposalProblem(
  had: RecordedDisposal,
  now: Omit<RecordedDisposal, 'recordedAt'> | undefined,
): string {
  return now === undefined
    ? `its certificate ${had.certificateHash} no longer verifies as disposing of records`
    : `its certificate now accounts for ${now.records} record(s) with leaf digest ${now.leavesDigest}, ` +
        `not the ${had.records} with leaf digest ${had.leavesDigest} the copy recorded`;
}

/**
 * The problems of this run's dispositions a finding does not already say (printed as
 * UNVERIFIED), in two lists: those of certificates the copy never acted on (it deleted nothing
 * on their word), and those of certificates an earlier run verified and acted on (it recorded a
 * disposal or destruction under them, and keeps it; it deletes nothing more on their word).
 */
export function unsaidProblems(
  disposals: Disposals,
  destructions: SettledDestructions,
  settled: SettledDisposals,
): { readonly notActedOn: string[]; readonly actedOn: string[] } {
  // Which problems the findings state is recorded as each is settled, not read back from the
  // words of a finding: two problems may read alike, and a finding's text is free to change.
  const said = new Set([...destructions.said, ...settled.said]);
  const actedOn = new Set([
    ...settled.records.map((d) => d.certificateHash),
    ...destructions.records.map((d) => d.certificateHash),
  ]);
  const out = { notActedOn: [] as string[], actedOn: [] as string[] };
  for (const p of disposals.problems) {
    if (said.has(p)) continue;
    (actedOn.has(p.certificateHash) ? out.actedOn : out.notActedOn).push(p.text);
  }
  return out;
}
