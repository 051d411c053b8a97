/** @custos/server — filled by later issues. */
export const PACKAGE_NAME = '@custos/server';
