/** A configuration problem found at start-up; the message names the setting and where its value came from. */
export class ConfigError extends Error {
  override readonly name = 'ConfigError';
  /** The setting that is wrong, e.g. `listen`. */
  readonly setting: string;

  constructor(setting: string, message: string, options?: { cause?: unknown }) {
    super(`configuration: ${setting}: ${message}`, options);
    this.setting = setting;
  }
}
