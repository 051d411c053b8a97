/** Public surface of core/shares (filled in by its implementation). */
export {};
