/**
 * What `custos` tells the user of a revoked device about its archive queue, and of a device
 * it retires (docs/threat-model.md, "Revoked devices and their archive queue"): how many
 * records it handed in, and how many it could not, by sequence number, so that nothing is
 * lost without the user (and through them the records officer) knowing.
 */
import type { ArchiveHandIn, ArchiveRun, DeviceRevocation, Revocation } from '@custos/client';
import { explainFailure } from './command-runner.js';
import { formatTime } from './message-format.js';

/** A run of records in words: `3 record(s) (sequence 7–9)`. */
export function runText(r: ArchiveRun): string {
  return `${r.count} record(s) (sequence ${r.firstSeq === r.lastSeq ? r.firstSeq : `${r.firstSeq}–${r.lastSeq}`})`;
}

/**
 * What `custos devices retire --force` says of the records it gave up. A retirement grants no
 * hand-in window (the device uploaded first; what it still holds its user gave up), so no
 * later `custos sync` can hand them in: they are lost, and the log says so.
 */
export function strandedByRetirementText(r: ArchiveRun): string {
  return (
    `WARNING: ${runText(r)} could not be uploaded and are stranded on this device (--force). ` +
    'A retired device cannot log in again, so they can no longer reach the archive: ' +
    'your records officer sees them as lost to this retirement (the log names the run).'
  );
}

/** The hand-in as JSON (`--json`). */
export function handInJson(h: ArchiveHandIn, command: string) {
  return {
    uploaded: h.uploaded,
    notUploaded: h.notUploaded ?? null,
    ...(h.error === undefined ? {} : { stoppedBy: explainFailure(h.error, command) }),
  };
}

/**
 * The lines a revoked device prints after handing in its queue: when it was revoked, what it
 * uploaded after, what it could not (lost to the archive unless handed in before the window
 * closes), and what to do.
 */
export function revokedLines(r: Revocation, h: ArchiveHandIn, command: string): string[] {
  const when = r.revokedAt > 0 ? ` on ${formatTime(r.revokedAt)} UTC` : '';
  const lines = [
    `This device has been revoked${when}: it can no longer send or receive messages.`,
    h.uploaded > 0
      ? `Archive: uploaded ${h.uploaded} record(s) it had sealed before the revocation.`
      : 'Archive: nothing uploaded after the revocation.',
  ];
  if (h.notUploaded === undefined) {
    lines.push('Every record this device captured is in the archive now.');
  } else {
    const why = h.error === undefined ? '' : ` (${explainFailure(h.error, command).message})`;
    lines.push(
      `WARNING: ${runText(h.notUploaded)} could not be uploaded${why}. ${afterRevocationText(r.handInUntil)} ` +
        'Tell your records officer.',
    );
  }
  lines.push(
    "To keep using Custos, ask an administrator for a new enrolment code ('custos admin code USER').",
  );
  return lines;
}

/** Whether a revoked device's records that were not uploaded may still be: until when, or lost. */
function afterRevocationText(handInUntil: number | null | undefined): string {
  if (handInUntil === undefined)
    return "The server did not say whether it still takes them: run 'custos sync' again; if it refuses them, they are lost to the archive.";
  if (handInUntil === null)
    return 'The device was revoked without an archive hand-in window, so the server takes nothing more from it: they are lost to the archive.';
  if (handInUntil > Date.now())
    return `The server takes them until ${formatTime(handInUntil)} UTC: run 'custos sync' again before then.`;
  return `The server no longer takes them (its hand-in window closed ${formatTime(handInUntil)} UTC): they are lost to the archive.`;
}

/**
 * What a revocation (`devices revoke`, `admin revoke`) left the revoked device, as the server
 * granted it, not as asked: until when it may still upload what it sealed before, nothing, or
 * that the server did not say. A server older than `handInUntil` does not send it and may have
 * granted a window (by default when a user revoked another of their devices), so that device
 * is not called locked out: its user, if it was stolen, must know to ask.
 */
export function handInWindowText(handInUntil: DeviceRevocation['handInUntil']): string {
  if (handInUntil === null) return 'it can no longer log in.';
  if (handInUntil === undefined)
    return (
      'the server did not say whether it may still log in to upload the archive records it sealed ' +
      'before. Servers older than this client do not say, and may grant that for their hand-in ' +
      "window (archiveHandInDays; by default when a user revokes another of their devices): check with the server's operator."
    );
  return `until ${formatTime(handInUntil)} UTC it may only upload the archive records it sealed before ('custos sync' on it).`;
}

/** The same as JSON (`--json`): `handInWindow` granted, none or unknown, and its end or null. */
export function handInWindowJson(handInUntil: DeviceRevocation['handInUntil']) {
  return {
    handInWindow: handInUntil === undefined ? 'unknown' : handInUntil === null ? 'none' : 'granted',
    handInUntil: handInUntil ?? null,
  } as const;
}
