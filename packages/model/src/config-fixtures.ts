/**
 * Helpers shared by the config loader's tests: YAML written line by line, and parseConfig wrapped for the common
 * questions (the config, its first job, its errors or notices as printed).
 */
import { ConfigError, formatConfigIssue, parseConfig, type ParseConfigOptions, type PrometheusConfig, type ScrapeConfig } from './config.js';

/** YAML from lines, so a test can name the line numbers it expects. */
export const y = (...lines: string[]): string => `${lines.join('\n')}\n`;

/** The configuration `text` loads to; throws a ConfigError when it is invalid. */
export function load(text: string, options: Partial<ParseConfigOptions> = {}): PrometheusConfig {
  const result = parseConfig(text, { file: 'p.yml', ...options });
  if (!result.ok) throw new ConfigError(result.errors);
  return result.config;
}

/** The first scrape job of a valid configuration. */
export function job(text: string, options: Partial<ParseConfigOptions> = {}): ScrapeConfig {
  const [first] = load(text, options).scrapeConfigs;
  if (first === undefined) throw new Error('no scrape config');
  return first;
}

/** The errors of `text`, loaded as `p.yml`, as `promfleet check config` prints them. */
export function errors(text: string): string[] {
  const result = parseConfig(text, { file: 'p.yml' });
  return result.ok ? [] : result.errors.map(formatConfigIssue);
}

/** The notices of `text`, loaded as `p.yml`, as printed. */
export function notices(text: string): string[] {
  return parseConfig(text, { file: 'p.yml' }).notices.map(formatConfigIssue);
}

/** The HTTP client settings of a section that sets none (`DefaultHTTPClientConfig`). */
export const defaultHttpClient = {
  tlsConfig: { insecureSkipVerify: false },
  proxyFromEnvironment: false,
  proxyConnectHeader: new Map(),
  followRedirects: true,
  enableHttp2: true,
  httpHeaders: new Map(),
};
