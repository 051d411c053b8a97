/**
 * The `completeness.policy` act (docs/officers.md, "Completeness and alerts"): when an officer
 * sets the org's completeness policy, the server logs an act whose detail names both values.
 * A console rebuilds that detail from the policy the server reports and finds the act's log
 * entry by it, so a server cannot report another policy than the one it logged.
 */

/** The detail of a `completeness.policy` act: `silent-after-ms=<ms> receipt-grace-ms=<ms>`. */
export function completenessPolicyActDetail(silentAfterMs: number, receiptGraceMs: number): string {
  return `silent-after-ms=${silentAfterMs} receipt-grace-ms=${receiptGraceMs}`;
}
