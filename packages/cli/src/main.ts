/** Process entry point of the `promfleet` binary. */
import { redactedUrl } from '@promfleet/model';
import { run } from './cli.js';
import { processIO } from './io.js';

// A reader that went away (`promfleet targets ... | head`) is not an error worth a message.
for (const stream of [process.stdout, process.stderr]) {
  stream.on('error', (err: NodeJS.ErrnoException) => {
    if (err.code === 'EPIPE') process.exit(process.exitCode ?? 0);
    throw err;
  });
}

try {
  process.exitCode = await run(process.argv.slice(2), processIO());
} catch (err) {
  // Only a bug gets here: user errors are reported by run(). Say so, with the stack, and exit 70 (EX_SOFTWARE).
  process.stderr.write(`promfleet: internal error, please report: ${redactedUrl(err instanceof Error ? (err.stack ?? err.message) : String(err))}\n`);
  process.exitCode = 70;
}
