/**
 * How officers' and auditors' reports (`console completeness`, `console alerts`, `custos
 * verify`) name why a device declared a run of its records lost (core GAP_REASONS,
 * docs/archive-format.md §6.1). The reason's code always leads, so scripts reading the text
 * keep working; what it means follows, in one form for every reason, since a reader could
 * otherwise take a run destroyed under a disposition for records lost by accident, or not
 * know which side lost them.
 */
import { isGapReason, type GapReason } from '@custos/core';

/**
 * What each reason means, in the words of core's GAP_REASONS doc comment (typed by GapReason:
 * a reason added there does not compile here until it is given its words).
 */
const MEANING: Readonly<Record<GapReason, string>> = {
  'server-restored': 'the server was restored from an older backup after acknowledging them',
  'device-lost': 'the device lost them before they were acknowledged',
  'bucket-disposed': 'sealed to a disposed bucket',
};

/**
 * `reason: meaning` (e.g. "bucket-disposed: sealed to a disposed bucket"); a reason this
 * version does not know (a newer device's) shows as its bare code.
 */
export function gapReasonLabel(reason: string): string {
  return isGapReason(reason) ? `${reason}: ${MEANING[reason]}` : reason;
}
