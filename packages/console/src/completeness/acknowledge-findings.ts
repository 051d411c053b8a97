/**
 * Acknowledging completeness findings (docs/officers.md, "Completeness and alerts"): the
 * officer's side of finding-acknowledgements.ts. Checks the reason and ids before anything is
 * signed, checks each id against a completeness run made just before, signs one statement per
 * finding (a revoked device's with the state it accepts, revoked-acknowledgements.ts), sends it,
 * and waits until the verified log shows the acts.
 */
import {
  encodeFindingAcknowledgement,
  findingAcknowledgementMessage,
  MAX_ACKNOWLEDGEMENT_REASON_CHARS,
} from '@custos/core';
import { ConsoleError } from '../console-error.js';
import type { OfficerSession } from '../officer-session.js';
import {
  notAcknowledgeable,
  readAcknowledgements,
  type AcknowledgedFinding,
  type VerifiedAcknowledgement,
} from './finding-acknowledgements.js';
import { findingIdOrg, type IdentifiedFinding } from './finding-ids.js';
import {
  acceptedText,
  formatRevokedState,
  parseLegacyRevokedId,
  revokedState,
} from './revoked-acknowledgements.js';
import { verifiedLogReader, type VerifiedLogReader } from './verified-log.js';

/**
 * How often, and how far apart, the log is re-read after acknowledging until the acts are in
 * a signed checkpoint: 10 × 1 s covers a busy integrator (as for the completeness policy).
 */
const LOG_CATCH_UP_ATTEMPTS = 10;
const LOG_CATCH_UP_DELAY_MS = 1_000;

/** The reason, trimmed and checked; INVALID_OPTIONS says what is wrong. */
export function checkReason(reason: string): string {
  const r = reason.trim();
  if (r.length === 0)
    throw new ConsoleError(
      'INVALID_OPTIONS',
      'the reason must not be empty: say why the finding is explained',
    );
  if (r.length > MAX_ACKNOWLEDGEMENT_REASON_CHARS)
    throw new ConsoleError(
      'INVALID_OPTIONS',
      `the reason must be at most ${MAX_ACKNOWLEDGEMENT_REASON_CHARS} characters`,
    );
  // eslint-disable-next-line no-control-regex -- control characters are exactly what is refused
  if (/[\u0000-\u001f\u007f]/.test(r))
    throw new ConsoleError('INVALID_OPTIONS', 'the reason must be one line without control characters');
  return r;
}

/**
 * Checks the ids before anything is signed: each shaped like a finding id, of this org, named
 * once. Another org's finding is FINDING_NOT_FOUND (this officer cannot see it).
 */
export function checkFindingIds(orgId: string, ids: readonly string[]): void {
  if (ids.length === 0) throw new ConsoleError('INVALID_OPTIONS', 'name at least one finding id');
  const seen = new Set<string>();
  for (const id of ids) {
    const org = findingIdOrg(id);
    if (org === null)
      throw new ConsoleError(
        'INVALID_OPTIONS',
        `'${id.slice(0, 80)}' is not a finding id (KIND/ORG/…, as 'custos console completeness' prints them)`,
      );
    if (org !== orgId)
      throw new ConsoleError(
        'FINDING_NOT_FOUND',
        `finding ${id} belongs to organisation ${org}; this profile is an officer of ${orgId}`,
      );
    if (seen.has(id)) throw new ConsoleError('INVALID_OPTIONS', `finding ${id} is named twice`);
    seen.add(id);
  }
}

/** What {@link acknowledgeFindings} needs of a completeness run: its findings, acknowledged or not. */
export interface CurrentFindings {
  readonly findings: readonly IdentifiedFinding[];
  readonly acknowledged: readonly AcknowledgedFinding[];
}

/**
 * Acknowledges each finding of `ids` with `reason`, as this officer: each must be a current,
 * unacknowledged finding of `current` (a completeness run of this session, made just before);
 * nothing is sent unless all are, and all are signed. Then sends one statement per finding — a
 * revoked device's with its state in `current`, what the officer accepts — and waits until the verified
 * log holds every act. Answers the verified acknowledgements, in `ids` order.
 */
export async function acknowledgeFindings(
  session: OfficerSession,
  ids: readonly string[],
  reasonText: string,
  current: CurrentFindings,
  options: {
    readonly onProgress?: (message: string) => void;
    readonly now?: number;
    /** The log reader the completeness run used: then only what the log grew by is read. */
    readonly readLog?: VerifiedLogReader;
  } = {},
): Promise<VerifiedAcknowledgement[]> {
  const reason = checkReason(reasonText);
  checkFindingIds(session.orgId, ids);
  for (const id of ids) {
    const done = current.acknowledged.find((f) => f.id === id);
    if (done !== undefined)
      throw new ConsoleError(
        'FINDING_ACKNOWLEDGED',
        `finding ${id} is already acknowledged (by officer ${done.acknowledgement.officerIndex + 1}, ` +
          `${new Date(done.acknowledgement.acknowledgedAt).toISOString()}, log ${done.acknowledgement.logIndex}` +
          `${done.acknowledgement.accepted === undefined ? '' : `, accepting ${acceptedText(done.acknowledgement.accepted)}`}); nothing was sent`,
      );
    const finding = current.findings.find((f) => f.id === id);
    if (finding === undefined)
      throw new ConsoleError(
        'FINDING_NOT_FOUND',
        `no current finding has the id ${id}: 'custos console completeness' lists them` +
          (parseLegacyRevokedId(id) === null
            ? ''
            : " (a revoked device's finding is named by its revocation now, revoked/ORG/DEVICE/LOG_INDEX; its count is what the acknowledgement signs)") +
          '; nothing was sent',
      );
    const why = notAcknowledgeable(finding);
    if (why !== null)
      throw new ConsoleError(
        'FINDING_NOT_ACKNOWLEDGEABLE',
        `finding ${id} cannot be acknowledged: ${why}; nothing was sent`,
      );
  }
  const at = options.now ?? Date.now();
  const states = ids.map((id) => stateToSign(current.findings.find((f) => f.id === id)!));
  // Every statement is encoded and signed before the first is sent: one that cannot be (a
  // field out of bounds) must stop the command before anything reaches the server.
  const signed = ids.map((id, i) => {
    const state = states[i];
    const statement = encodeFindingAcknowledgement({
      orgId: session.orgId,
      findingId: id,
      reason,
      officerIndex: session.officerIndex,
      at,
      ...(state === undefined ? {} : { state }),
    });
    return {
      statement,
      signature: session.officer.keys.signingKey.sign(findingAcknowledgementMessage(statement)),
    };
  });
  for (const [i, id] of ids.entries()) {
    await session.call('POST', `/v1/orgs/${session.orgId}/archive/completeness/acknowledgements`, {
      statement: Buffer.from(signed[i]!.statement).toString('base64url'),
      signature: Buffer.from(signed[i]!.signature).toString('base64url'),
    });
    options.onProgress?.(`acknowledged ${id}; waiting for its log entry`);
  }
  const readLog = options.readLog ?? verifiedLogReader(session, options.onProgress);
  for (let attempt = 1; ; attempt++) {
    const read = await readAcknowledgements(session, await readLog());
    const found = ids.map((id, i) =>
      read.verified.find(
        (v) =>
          v.findingId === id &&
          v.officerIndex === session.officerIndex &&
          (v.accepted === undefined ? undefined : formatRevokedState(v.accepted)) === states[i],
      ),
    );
    if (found.every((a) => a !== undefined)) return found;
    if (attempt >= LOG_CATCH_UP_ATTEMPTS)
      throw new ConsoleError(
        'LOG_INVALID',
        `the server accepted the acknowledgement(s) but the verified log does not show ${ids.filter((_, i) => found[i] === undefined).join(', ')} after ${LOG_CATCH_UP_ATTEMPTS} reads: check again later; if they never show, the server is not to be trusted`,
      );
    await new Promise((r) => setTimeout(r, LOG_CATCH_UP_DELAY_MS));
  }
}

/** The state a statement for `f` signs: a revoked device's state now; none for other findings. */
function stateToSign(f: IdentifiedFinding): string | undefined {
  return f.kind === 'revoked-device' ? formatRevokedState(revokedState(f)) : undefined;
}
