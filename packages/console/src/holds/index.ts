/** Public surface of console/holds: legal holds (docs/officers.md "Legal holds"). */
export { listHolds, placeHold, releaseHold } from './officer-holds.js';
export type { HoldCriterion, HoldListing, ListedHold, PlacedHold } from './officer-holds.js';
