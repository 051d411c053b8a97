/** Public surface of console/holds: legal holds (docs/officers.md "Legal holds"). */
export { listHolds, placeHold, releaseHold } from './officer-holds.js';
export type { HoldCriterion, HoldListing, PlacedHold } from './officer-holds.js';
