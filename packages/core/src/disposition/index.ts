/** Disposition plans, officer approvals and certificates (docs/officers.md). */
export * from './disposition-plan.js';
