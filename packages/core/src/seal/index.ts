/** Public surface of core/seal (filled in by its implementation). */
export {};
