/** @custos/client — filled by later issues. */
export const PACKAGE_NAME = '@custos/client';
