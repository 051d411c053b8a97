/** Officer acknowledgements of completeness findings (docs/officers.md, "Completeness and alerts"). */
export * from './finding-acknowledgement.js';
