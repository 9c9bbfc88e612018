/**
 * The worker's HTTP server: `/metrics`, `/-/healthy`, `/-/ready`, and a small status page of its targets and its
 * link to the master, plain HTML that reads without JavaScript. Nothing it shows carries a secret: every URL, address
 * and error text is redacted ({@link redactedUrl}), and no header or config value is rendered.
 */
import { createServer, type IncomingMessage, type Server, type ServerResponse } from 'node:http';
import { parseListenAddress, redactedUrl, webUrl, type TargetId } from '@promfleet/model';
import type { Registry } from 'prom-client';
import type { ScrapeHealth } from './scrape/loop.js';

/** What the page shows; read at each request. */
export interface WorkerStatusSource {
  readonly workerId: string;
  readonly masterAddress: string;
  connected(): boolean;
  masterId(): string | undefined;
  /** The port of the master's status page, from its Welcome; undefined when unknown. */
  masterWebPort(): number | undefined;
  lastError(): string;
  generation(): number;
  /** Ready once the worker holds an assignment from a master (a snapshot was applied). */
  ready(): boolean;
  loops(): Iterable<{ readonly id: TargetId; readonly job: string; readonly url: string; readonly health: ScrapeHealth }>;
}

/** At most this many targets are listed on the page, unhealthy ones first. */
const maxListed = 500;

function escapeHtml(text: string): string {
  return text.replace(/[&<>"']/g, (c) => `&#${c.charCodeAt(0)};`);
}

/** A value the page shows: passwords masked, then escaped. */
function shown(text: string): string {
  return escapeHtml(redactedUrl(text));
}


function page(source: WorkerStatusSource, nowMs: number): string {
  const loops = [...source.loops()].sort((a, b) => Number(a.health.up) - Number(b.health.up) || a.job.localeCompare(b.job) || a.url.localeCompare(b.url));
  const up = loops.filter((l) => l.health.up).length;
  const rows = loops.slice(0, maxListed).map((l) => {
    const h = l.health;
    const state = h.lastScrapeUnixMs === 0 ? 'unknown' : h.up ? 'up' : 'down';
    const ago = h.lastScrapeUnixMs === 0 ? 'never' : `${((nowMs - h.lastScrapeUnixMs) / 1000).toFixed(1)} s ago`;
    return `<tr><td>${escapeHtml(l.job)}</td><td>${shown(l.url)}</td><td class="${state}">${state}</td><td>${ago}</td><td>${h.durationSeconds.toFixed(3)} s</td><td>${h.samplesScraped}</td><td class="error">${shown(h.lastError)}</td></tr>`;
  });
  const masterPage = webUrl(source.masterAddress, source.masterWebPort());
  const masterName = escapeHtml(source.masterId() ?? '');
  const master = source.connected()
    ? `connected to ${masterPage === undefined ? masterName : `<a href="${shown(masterPage)}">${masterName}</a>`} at ${shown(source.masterAddress)}`
    : `not connected to ${shown(source.masterAddress)}${source.lastError() === '' ? '' : `: ${shown(source.lastError())}`} (scraping the last assignment)`;
  return `<!DOCTYPE html>
<html lang="en">
<head>
<meta charset="utf-8">
<title>promfleet worker ${escapeHtml(source.workerId)}</title>
<style>
body{font-family:sans-serif;margin:1.5em;color:#222}
table{border-collapse:collapse}
th,td{border:1px solid #ccc;padding:.25em .6em;text-align:left;vertical-align:top}
th{background:#f2f2f2}
.up{color:#1a7f37}.down{color:#b42318}.unknown{color:#666}
.error{font-family:monospace;white-space:pre-wrap;word-break:break-all}
</style>
</head>
<body>
<h1>promfleet worker ${escapeHtml(source.workerId)}</h1>
<p>Master: ${master}. Assignment generation ${source.generation()}.</p>
<p>${loops.length} targets, ${up} up${loops.length > maxListed ? `; the first ${maxListed} are listed, unhealthy first` : ''}.</p>
<table>
<tr><th>Job</th><th>Endpoint</th><th>State</th><th>Last scrape</th><th>Duration</th><th>Samples</th><th>Error</th></tr>
${rows.join('\n')}
</table>
</body>
</html>
`;
}

/** The worker's HTTP server. */
export class WorkerStatusServer {
  #server: Server | undefined;

  constructor(private readonly options: { source: WorkerStatusSource; registry: Registry; now?: () => number }) {}

  /** Binds `address` (`host:port`, `:port` for every interface). Resolves to the bound port. */
  async listen(address: string): Promise<number> {
    const { host, port } = parseListenAddress(address);
    const server = createServer((req, res) => {
      this.#handle(req, res).catch(() => {
        if (!res.headersSent) res.writeHead(500, { 'Content-Type': 'text/plain; charset=utf-8' });
        res.end('Internal Server Error\n');
      });
    });
    this.#server = server;
    await new Promise<void>((resolve, reject) => {
      server.once('error', reject);
      server.listen(port, host, () => resolve());
    });
    const bound = server.address();
    return typeof bound === 'object' && bound !== null ? bound.port : port;
  }

  async close(): Promise<void> {
    const server = this.#server;
    if (server === undefined) return;
    server.closeAllConnections();
    await new Promise((resolve) => server.close(resolve));
  }

  async #handle(req: IncomingMessage, res: ServerResponse): Promise<void> {
    const path = new URL(req.url ?? '/', 'http://worker').pathname;
    const text = (status: number, body: string, type = 'text/plain; charset=utf-8') => {
      res.writeHead(status, { 'Content-Type': type });
      res.end(req.method === 'HEAD' ? undefined : body);
    };
    if (req.method !== 'GET' && req.method !== 'HEAD') {
      res.setHeader('Allow', 'GET, HEAD');
      text(405, 'Method Not Allowed\n');
      return;
    }
    switch (path) {
      case '/metrics':
        text(200, await this.options.registry.metrics(), this.options.registry.contentType);
        return;
      case '/-/healthy':
        text(200, 'promfleet worker is Healthy.\n');
        return;
      case '/-/ready':
        if (this.options.source.ready()) text(200, 'promfleet worker is Ready.\n');
        else text(503, 'Service Unavailable\n');
        return;
      case '/':
        text(200, page(this.options.source, (this.options.now ?? Date.now)()), 'text/html; charset=utf-8');
        return;
      default:
        text(404, '404 page not found\n');
    }
  }
}
