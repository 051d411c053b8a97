/** Officer acknowledgements of completeness findings and the policy act (docs/officers.md, "Completeness and alerts"). */
export * from './finding-acknowledgement.js';
export * from './policy-act.js';
