/** Public surface of core/sign (filled in by its implementation). */
export {};
