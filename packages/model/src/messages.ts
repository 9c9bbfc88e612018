/**
 * What goes into messages and logs: the text of a thrown value, and URLs with their passwords hidden. Shared by
 * the config loader, the master and the worker, so that every message redacts the same way.
 */

/** The message of any thrown value: an `Error`'s message, else the value as a string. */
export function errorMessage(err: unknown): string {
  return err instanceof Error ? err.message : String(err);
}

/**
 * `url` with its password replaced by `mask` (`xxxxx` by default), as Go's `url.URL.Redacted`: the user name stays,
 * so that two endpoints remain distinguishable. A value that does not parse as a URL gets the same treatment by
 * pattern, so a password never survives.
 */
export function redactedUrl(url: string, options: { readonly mask?: string } = {}): string {
  const mask = options.mask ?? 'xxxxx';
  if (!URL.canParse(url)) return url.replace(/\/\/([^/@:]*):[^/@]*@/, `//$1:${mask}@`);
  const parsed = new URL(url);
  if (parsed.password !== '') parsed.password = mask;
  return parsed.href;
}
