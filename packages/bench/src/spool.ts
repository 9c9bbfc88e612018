/**
 * The spool benchmark: throughput of the remote-write disk queue's segment files (`packages/worker/src/remote/spool.ts`)
 * for records of a given size: appends alone, peek+ack alone, the two interleaved (a queue draining as fast as it
 * fills), and `open` scanning a full spool (the start of a worker with a queue on disk). Real files in a temporary
 * directory (page cache: no fsync but on close); prints markdown to stdout.
 *
 *   pnpm build && pnpm --filter @promfleet/bench spool [--records N] [--body-bytes B] [--dir DIR]
 */
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { parseArgs } from 'node:util';
import { FRAME_HEADER_BYTES, Spool, type QueueRecord } from '@promfleet/worker';

const usage = `usage: pnpm --filter @promfleet/bench spool [--records N] [--body-bytes B] [--dir DIR]
  --records N      records per measurement (default 100000)
  --body-bytes B   bytes of each record's body (default 20000: a 2,000-sample request, snappy-compressed, is ~10-30 KB)
  --dir DIR        where the temporary spool directory goes (default the OS temp dir)`;

function options(): { records: number; bodyBytes: number; dir: string } {
  const { values } = parseArgs({
    options: { records: { type: 'string' }, 'body-bytes': { type: 'string' }, dir: { type: 'string' }, help: { type: 'boolean' } },
    strict: true,
  });
  if (values.help === true) {
    process.stdout.write(`${usage}\n`);
    process.exit(0);
  }
  const records = Number(values.records ?? '100000');
  const bodyBytes = Number(values['body-bytes'] ?? '20000');
  if (!Number.isSafeInteger(records) || records < 1) throw new Error(`--records must be a positive integer, got ${values.records}\n${usage}`);
  if (!Number.isSafeInteger(bodyBytes) || bodyBytes < 0) throw new Error(`--body-bytes must be a non-negative integer, got ${values['body-bytes']}\n${usage}`);
  return { records, bodyBytes, dir: values.dir ?? tmpdir() };
}

function seconds(since: bigint): number {
  return Number(process.hrtime.bigint() - since) / 1e9;
}

function main(): void {
  const { records, bodyBytes, dir: parent } = options();
  const dir = mkdtempSync(join(parent, 'promfleet-spool-bench-'));
  const body = Buffer.alloc(bodyBytes);
  for (let i = 0; i < body.length; i++) body[i] = (i * 131) & 0xff;
  const record: QueueRecord = {
    protocol: 'prometheus.WriteRequest',
    body,
    samples: 2000,
    exemplars: 0,
    oldestTimestampMs: 1_700_000_000_000,
    newestTimestampMs: 1_700_000_005_000,
  };
  const frameBytes = FRAME_HEADER_BYTES + bodyBytes;
  const maxBytes = 2 * records * frameBytes;
  const rows: string[] = [];
  const row = (name: string, elapsed: number): void => {
    const mb = (records * frameBytes) / 1e6 / elapsed;
    rows.push(`| ${name} | ${elapsed.toFixed(2)} | ${(records / elapsed).toFixed(0)} | ${mb.toFixed(0)} |`);
  };
  try {
    const { spool } = Spool.open(dir, { maxBytes });
    let start = process.hrtime.bigint();
    for (let n = 0; n < records; n++) spool.append(record);
    row('append', seconds(start));
    spool.close();

    start = process.hrtime.bigint();
    const reopened = Spool.open(dir, { maxBytes });
    row('open (scan, CRC check)', seconds(start));
    if (reopened.recovered.records !== records) throw new Error(`open found ${reopened.recovered.records} records, wrote ${records}`);
    const diskBytes = reopened.spool.diskBytes;

    start = process.hrtime.bigint();
    for (let head = reopened.spool.peek(); head !== undefined; head = reopened.spool.peek()) reopened.spool.ack(head.id);
    row('peek + ack', seconds(start));

    start = process.hrtime.bigint();
    for (let n = 0; n < records; n++) {
      reopened.spool.append(record);
      const head = reopened.spool.peek();
      if (head !== undefined) reopened.spool.ack(head.id);
    }
    row('append + peek + ack, interleaved', seconds(start));
    reopened.spool.close();

    process.stdout.write(
      [
        `${records} records of ${bodyBytes} body bytes; ${FRAME_HEADER_BYTES} bytes of frame header each; ` +
          `${diskBytes} bytes on disk for ${records * bodyBytes} bytes of bodies`,
        '',
        '| operation | seconds | records/s | MB/s (frames) |',
        '| --- | ---: | ---: | ---: |',
        ...rows,
        '',
      ].join('\n'),
    );
  } finally {
    rmSync(dir, { recursive: true, force: true });
  }
}

main();
