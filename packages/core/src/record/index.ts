/** Public surface of core/record (filled in by its implementation). */
export {};
