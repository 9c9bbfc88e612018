/** `promtool check metrics` as a test helper: Prometheus' own linter for metric names, types, units and help. */
import { execFile } from 'node:child_process';

/** Runs `promtool check metrics` on an exposition; resolves to its exit code and what it printed (nothing when clean). */
export function promtoolCheckMetrics(exposition: string): Promise<{ code: number; output: string }> {
  return new Promise((resolve, reject) => {
    const child = execFile('promtool', ['check', 'metrics'], (err, stdout, stderr) => {
      if (err !== null && typeof err.code !== 'number') reject(new Error(`promtool did not run: ${err.message}`));
      else resolve({ code: err === null ? 0 : Number(err.code), output: stdout + stderr });
    });
    child.stdin?.end(exposition);
  });
}
