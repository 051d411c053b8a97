/** Disposition plans, officer approvals and certificates (docs/officers.md). */
export * from './disposition-plan.js';
export * from './retention-classes.js';
export * from './date-hold-margins.js';
export * from './hold-release.js';
