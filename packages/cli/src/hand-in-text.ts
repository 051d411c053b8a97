/**
 * What `custos` tells the user of a revoked device about its archive queue, and of a device
 * it retires (docs/threat-model.md, "Revoked devices and their archive queue"): how many
 * records it handed in, and how many it could not, by sequence number, so that nothing is
 * lost without the user (and through them the records officer) knowing.
 */
import type { ArchiveHandIn, ArchiveRun, Revocation } from '@custos/client';
import { explainFailure } from './command-runner.js';
import { formatTime } from './message-format.js';

/** A run of records in words: `3 record(s) (sequence 7–9)`. */
export function runText(r: ArchiveRun): string {
  return `${r.count} record(s) (sequence ${r.firstSeq === r.lastSeq ? r.firstSeq : `${r.firstSeq}–${r.lastSeq}`})`;
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
    const open = r.handInUntil > Date.now();
    lines.push(
      `WARNING: ${runText(h.notUploaded)} could not be uploaded${why}. ` +
        (open
          ? `The server takes them until ${formatTime(r.handInUntil)} UTC: run 'custos sync' again before then. `
          : 'The server no longer takes them: they are lost to the archive. ') +
        'Tell your records officer.',
    );
  }
  lines.push(
    "To keep using Custos, ask an administrator for a new enrolment code ('custos admin code USER').",
  );
  return lines;
}
