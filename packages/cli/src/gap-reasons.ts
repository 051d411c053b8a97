/**
 * How officers' and auditors' reports (`console completeness`, `console alerts`, `custos
 * verify`) name why a device declared a run of its records lost (core GAP_REASONS,
 * docs/archive-format.md §6.1). The reason's code always shows, so scripts reading the text
 * keep working; `bucket-disposed` adds what it means, since a reader could otherwise take a
 * run destroyed under a disposition for records lost by accident.
 */

/** What a reason means, for the reasons whose code alone could mislead. */
const MEANING: Readonly<Record<string, string>> = {
  'bucket-disposed': 'sealed to a disposed bucket',
};

/** `reason`, or `reason: meaning` (e.g. "bucket-disposed: sealed to a disposed bucket"). */
export function gapReasonLabel(reason: string): string {
  const meaning = MEANING[reason];
  return meaning === undefined ? reason : `${reason}: ${meaning}`;
}
