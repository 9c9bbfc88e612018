/**
 * Test helpers for the exposition parsers: two realistic expositions (the shapes of node-exporter output and of an
 * OpenMetrics client with exemplars and `_created` series) and a reader that turns a parse into plain values.
 */
import { ParseError, createParser, type ExpositionFormat } from './parser.js';

/** A text-format exposition in node-exporter's shape, with a summary, a histogram, escapes and a timestamp. */
export const textExposition = `# HELP go_gc_duration_seconds A summary of the pause duration of garbage collection cycles.
# TYPE go_gc_duration_seconds summary
go_gc_duration_seconds{quantile="0"} 7.9148e-05
go_gc_duration_seconds{quantile="0.25"} 7.9148e-05
go_gc_duration_seconds{quantile="1"} 0.000123
go_gc_duration_seconds_sum 7.9148e-05
go_gc_duration_seconds_count 1
# HELP go_memstats_last_gc_time_seconds Number of seconds since 1970 of last garbage collection.
# TYPE go_memstats_last_gc_time_seconds gauge
go_memstats_last_gc_time_seconds 1.795642547460855e+09
# HELP node_cpu_seconds_total Seconds the CPUs spent in each mode.
# TYPE node_cpu_seconds_total counter
node_cpu_seconds_total{cpu="0",mode="idle"} 5262.29
node_cpu_seconds_total{cpu="0",mode="iowait"} 4.63
node_cpu_seconds_total{cpu="1",mode="idle"} 5270.58
# HELP node_filesystem_avail_bytes Filesystem space available to non-root users in bytes.
# TYPE node_filesystem_avail_bytes gauge
node_filesystem_avail_bytes{device="/dev/vda",fstype="ext4",mountpoint="/"} 2.0913897472e+10
node_filesystem_avail_bytes{device="tmpfs",fstype="tmpfs",mountpoint="/run/user/0"} 4.1985024e+08
# HELP http_request_duration_seconds Request latency, with \\\\ and \\n escaped.
# TYPE http_request_duration_seconds histogram
http_request_duration_seconds_bucket{handler="/api",le="0.1"} 10
http_request_duration_seconds_bucket{handler="/api",le="1"} 25
http_request_duration_seconds_bucket{handler="/api",le="+Inf"} 27
http_request_duration_seconds_sum{handler="/api"} 12.5
http_request_duration_seconds_count{handler="/api"} 27
# A comment line.
node_textfile_note{text="say \\"hi\\"\\nbye",path="C:\\\\temp"} 1 1700000000000
node_scrape_collector_success{collector="arp"} NaN
node_scrape_collector_success{collector="bcache"} +Inf
`;

/** An OpenMetrics exposition: UNIT, a counter with `_total` and `_created`, exemplars, timestamps, a stateset. */
export const openMetricsExposition = `# HELP http_requests Requests served, "quoted" and \\"escaped\\".
# TYPE http_requests counter
http_requests_total{code="200"} 1027 1520879607.789 # {trace_id="KOO5S4vxi0o"} 0.67
http_requests_created{code="200"} 1520430000.123
http_requests_total{code="500"} 3
# TYPE request_duration_seconds histogram
# UNIT request_duration_seconds seconds
request_duration_seconds_bucket{le="0.5"} 129 # {trace_id="3KcV6"} 0.43 1520879607.7
request_duration_seconds_bucket{le="+Inf"} 150
request_duration_seconds_sum 48.2
request_duration_seconds_count 150
# TYPE feature stateset
feature{feature="a"} 1
feature{feature="b"} 0
# TYPE build info
build_info{version="1.0"} 1
{"my.metric","label.x"="v"} 2.5
# EOF
`;

/** One entry of a parse, as plain data. */
export type SeenEntry =
  | { readonly series: string; readonly labels: Record<string, string>; readonly value: number; readonly timestampMs: number | undefined; readonly exemplar: boolean }
  | { readonly help: string; readonly text: string }
  | { readonly type: string; readonly kind: string }
  | { readonly unit: string; readonly text: string }
  | { readonly comment: string };

/** Parses `body` to the end, reading every accessor of every entry, labels included. Throws what the parser throws. */
export function readAll(body: string, format: ExpositionFormat): SeenEntry[] {
  const parser = createParser({ body, format });
  const out: SeenEntry[] = [];
  for (let entry = parser.next(); entry !== undefined; entry = parser.next()) {
    switch (entry) {
      case 'series':
        out.push({
          series: parser.series(),
          labels: Object.fromEntries(parser.labels()),
          value: parser.value(),
          timestampMs: parser.timestampMs(),
          exemplar: parser.hasExemplar(),
        });
        break;
      case 'help': {
        const [help, text] = parser.help();
        out.push({ help, text });
        break;
      }
      case 'type': {
        const [type, kind] = parser.type();
        out.push({ type, kind });
        break;
      }
      case 'unit': {
        const [unit, text] = parser.unit();
        out.push({ unit, text });
        break;
      }
      case 'comment':
        out.push({ comment: parser.comment() });
        break;
    }
  }
  return out;
}

/** The series entries of a parse. */
export function seriesOf(body: string, format: ExpositionFormat): Extract<SeenEntry, { series: string }>[] {
  return readAll(body, format).filter((e): e is Extract<SeenEntry, { series: string }> => 'series' in e);
}

/** The ParseError a parse of `body` ends with (labels read for every series), or a test failure when there is none. */
export function parseFailure(body: string, format: ExpositionFormat): { line: number; reason: string } {
  try {
    readAll(body, format);
  } catch (err) {
    if (err instanceof ParseError) return { line: err.line, reason: err.reason };
    throw err;
  }
  throw new Error(`expected a ParseError for ${JSON.stringify(body)}`);
}
