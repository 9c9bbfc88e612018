/**
 * What goes into messages and logs: the text of a thrown value, and text with its URL passwords hidden. Shared by
 * the config loader, the master, the worker and the CLI, so that every message redacts the same way.
 */

/** The message of any thrown value: an `Error`'s message, else the value as a string. */
export function errorMessage(err: unknown): string {
  return err instanceof Error ? err.message : String(err);
}

/** What a password is replaced with: Go's `url.URL.Redacted` and prometheus/common's `config.URL.Redacted`. */
const mask = 'xxxxx';

/**
 * `text` with every password of a URL's user info replaced by `xxxxx`. The one redaction of promfleet: apply it to
 * every URL, `host:port` or message that may quote one before it reaches a log, an error, a page or an API answer.
 *
 * `text` may be a URL (`https://user:pw@host/write`), an address with user info and no scheme (`user:pw@host:9090`),
 * or any longer text quoting them (`Get "http://user:pw@host/metrics": connect: …`, a config error, a label set).
 * As Go's `url.URL.Redacted`, the user name stays so that two endpoints remain distinguishable, and a present but
 * empty password is masked too (`u:@h` gives `u:xxxxx@h`). The rest of the text is returned as it was.
 *
 * A password must not survive in any shape, so where a URL is ambiguous the mask reaches further rather than less:
 * - In each whitespace-separated word holding `//` and then an `@`, everything from the first `:` after the `//` to
 *   the last `@` of the word is the password. So an unescaped `/`, `?`, `#` or `@` inside a password is masked whole
 *   (`https://u:pa/ss@host/` gives `https://u:xxxxx@host/`), and so is a `host:port` followed by a path holding `@`
 *   (`http://h:9090/@me` gives `http://h:xxxxx@me`), which cannot be told apart from a password holding `/`.
 * - A word with no `//` before its last `@` is masked the same way from its first `:` when what follows the `@` is
 *   a host (a name, IPv4 or `[IPv6]`) with an optional numeric port: `user:pw@host:9090`, a `__address__` label
 *   value, `{__address__="u:pw@h:1"}`. An image digest (`nginx:1.2@sha256:…`) is not a host and stays.
 * - Percent-encoded passwords (`%2F`, `%40`) are masked as they are written.
 * - URLs in free text end at whitespace, as every message that quotes one delimits it; a text that starts with a
 *   scheme (`https://…`) is one URL as a whole, so a password holding whitespace is masked whole when the URL is
 *   redacted on its own before it is quoted.
 *
 * Query parameters stay, as in Prometheus (`url.URL.Redacted` and the targets API show them): `params` and
 * `__param_*` are not `<secret>` fields, and a credential belongs in `authorization` or `basic_auth`, whose values
 * print as `<secret>`. A user name alone (`https://token@host/`) is kept, as Go keeps it.
 */
export function redactedUrl(text: string): string {
  if (!text.includes('@')) return text;
  // A text that starts with a scheme is one URL: whitespace (which the URL parser percent-encodes) does not end it.
  if (/^\s*[A-Za-z][A-Za-z0-9+.-]*:\/\//.test(text)) return maskWord(text);
  return maskWords(text);
}

/** A host (name, IPv4 or bracketed IPv6) and an optional numeric port, then nothing that continues a host. */
const hostAfterAt = /^(?:\[[0-9A-Za-z:.%]*\]|[A-Za-z0-9._~%-]+)(?::[0-9]*)?(?![A-Za-z0-9._~%:@[\]-])/;

function maskWords(text: string): string {
  return text
    .split(/(\s+)/)
    .map((word) => (word.includes('@') ? maskWord(word) : word))
    .join('');
}

function maskWord(word: string): string {
  const at = word.lastIndexOf('@');
  const slashes = word.indexOf('//');
  // After a scheme's `//`, the password starts at the first `:`. Without one (or with `//` inside the password of
  // an address), it starts at the word's first `:` that does not end a scheme, when a host follows the `@`.
  let colon = slashes !== -1 && slashes < at ? word.indexOf(':', slashes + 2) : -1;
  if ((colon === -1 || colon > at) && hostAfterAt.test(word.slice(at + 1))) {
    colon = word.indexOf(':');
    if (colon !== -1 && colon + 1 === slashes) colon = -1;
  }
  if (colon === -1 || colon > at) return word;
  return `${word.slice(0, colon + 1)}${mask}${word.slice(at)}`;
}

/** A log sink as the master and the worker take one: a level, a message and a few fields. */
export type LogSink<Level extends string> = (level: Level, message: string, fields?: Readonly<Record<string, string | number>>) => void;

/**
 * `log` with its message and every string field passed through {@link redactedUrl} first. The master and the worker
 * wrap the sink they are given once, so that no record (an error quoting a URL, an endpoint, an address) can carry
 * a password, whoever writes it.
 */
export function redactingLog<Level extends string>(log: LogSink<Level>): LogSink<Level> {
  return (level, message, fields) => {
    if (fields === undefined) {
      log(level, redactedUrl(message));
      return;
    }
    const shown: Record<string, string | number> = {};
    for (const [key, value] of Object.entries(fields)) shown[key] = typeof value === 'string' ? redactedUrl(value) : value;
    log(level, redactedUrl(message), shown);
  };
}
