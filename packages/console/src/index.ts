/** @custos/console — filled by later issues. */
export const PACKAGE_NAME = '@custos/console';
