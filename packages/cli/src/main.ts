/** Process entry point of the `promfleet` binary. */
import { redactedUrl } from '@promfleet/model';
import { longRunningCommands, run } from './cli.js';
import { processIO } from './io.js';

// A reader that went away is not an error worth a message. A tool (`promfleet targets ... | head`) exits at once; a
// command that runs until stopped (`promfleet demo | tee demo.log`, where Ctrl-C ends tee first) goes on without its
// output, so that its stop still hands targets over, stops its children and removes what it created.
const keepRunning = longRunningCommands.has(process.argv[2] ?? '');
for (const stream of [process.stdout, process.stderr]) {
  stream.on('error', (err: NodeJS.ErrnoException) => {
    if (err.code !== 'EPIPE') throw err;
    if (!keepRunning) process.exit(process.exitCode ?? 0);
  });
}

try {
  process.exitCode = await run(process.argv.slice(2), processIO());
} catch (err) {
  // Only a bug gets here: user errors are reported by run(). Say so, with the stack, and exit 70 (EX_SOFTWARE).
  process.stderr.write(`promfleet: internal error, please report: ${redactedUrl(err instanceof Error ? (err.stack ?? err.message) : String(err))}\n`);
  process.exitCode = 70;
}
