/**
 * Listen addresses as Prometheus' flags take them (`--web.listen-address=:9090`): pure parsing, shared by the
 * master's and the worker's servers.
 */

/** A listen address that is not `host:port` (Go's `net.SplitHostPort`). */
export class ListenAddressError extends Error {
  override readonly name = 'ListenAddressError';
  readonly code = 'PROMFLEET_LISTEN_ADDRESS';
  constructor(
    readonly address: string,
    readonly reason: string,
  ) {
    super(`invalid listen address ${JSON.stringify(address)}: ${reason}; expected host:port, [ipv6]:port or :port`);
  }
}

/**
 * Splits a listen address as Go's `net.SplitHostPort` does for `--web.listen-address`: `host:port`,
 * `[ipv6-host]:port`, or `:port` for every interface (no host). The port is a number from 0 (any free port) to 65535.
 *
 * @throws ListenAddressError naming the address and what is wrong with it.
 */
export function parseListenAddress(address: string): { host?: string; port: number } {
  let host: string;
  let portText: string;
  if (address.startsWith('[')) {
    const end = address.indexOf(']');
    if (end < 0 || address.charAt(end + 1) !== ':') throw new ListenAddressError(address, 'missing "]:" after an IPv6 host');
    host = address.slice(1, end);
    portText = address.slice(end + 2);
  } else {
    const colon = address.lastIndexOf(':');
    if (colon < 0) throw new ListenAddressError(address, 'missing port');
    host = address.slice(0, colon);
    portText = address.slice(colon + 1);
    if (host.includes(':')) throw new ListenAddressError(address, 'an IPv6 host needs brackets');
  }
  const port = Number(portText);
  if (!/^\d{1,5}$/.test(portText) || port > 65535) throw new ListenAddressError(address, `port ${JSON.stringify(portText)} is not a number from 0 to 65535`);
  return host === '' ? { port } : { host, port };
}

/**
 * The URL of an HTTP server on `port` of the host in `address` (a peer's or a dialed `host:port`, `[ipv6]:port`):
 * `http://host:port/`. Undefined when `address` is not `host:port` with a host, or `port` is absent or 0.
 */
export function webUrl(address: string, port: number | undefined): string | undefined {
  if (port === undefined || port === 0) return undefined;
  let host: string | undefined;
  try {
    host = parseListenAddress(address).host;
  } catch {
    return undefined;
  }
  if (host === undefined) return undefined;
  return `http://${host.includes(':') ? `[${host}]` : host}:${port}/`;
}

/** The fixed port of a listen address, for links to it; undefined for port 0 (any free port) or a bad address. */
export function fixedPort(address: string): number | undefined {
  try {
    const { port } = parseListenAddress(address);
    return port === 0 ? undefined : port;
  } catch {
    return undefined;
  }
}
