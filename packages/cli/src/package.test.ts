/**
 * The CLI as a production install gets it (`pnpm deploy --prod`, as deploy/Dockerfile builds the image): every
 * package its code imports, statically or on demand (`promfleet demo` loads @promfleet/testkit), must be among its
 * `dependencies`, or the command that imports it fails there.
 */
import { describe, expect, it } from '@jest/globals';
import { readdir, readFile } from 'node:fs/promises';
import { builtinModules } from 'node:module';

const src = new URL('./', import.meta.url);

/** The package a module specifier names: `@scope/name` or `name`; undefined for relative and Node's own modules. */
function packageOf(specifier: string): string | undefined {
  if (specifier.startsWith('.') || specifier.startsWith('node:') || builtinModules.includes(specifier)) return undefined;
  const parts = specifier.split('/');
  return specifier.startsWith('@') ? parts.slice(0, 2).join('/') : parts[0];
}

/** Every package a source file imports at run time (`import type` is erased and left out). */
function importedPackages(source: string): Set<string> {
  const found = new Set<string>();
  const patterns = [/^\s*import\s+(?!type\s)[^'"]*?from\s+'([^']+)'/gm, /^\s*import\s+'([^']+)'/gm, /^\s*export\s+(?!type\s)[^'"]*?from\s+'([^']+)'/gm, /\bimport\('([^']+)'\)/g];
  for (const pattern of patterns) {
    for (const m of source.matchAll(pattern)) {
      const name = packageOf(m[1] ?? '');
      if (name !== undefined) found.add(name);
    }
  }
  return found;
}

describe('@promfleet/cli package.json', () => {
  it('lists every package its non-test sources import among its dependencies', async () => {
    const manifest = JSON.parse(await readFile(new URL('../package.json', src), 'utf8')) as { dependencies?: Record<string, string> };
    const dependencies = new Set(Object.keys(manifest.dependencies ?? {}));
    const files = (await readdir(src)).filter((f) => f.endsWith('.ts') && !f.endsWith('.test.ts'));
    const missing: string[] = [];
    const imported = new Set<string>();
    for (const file of files) {
      for (const name of importedPackages(await readFile(new URL(file, src), 'utf8'))) {
        imported.add(name);
        if (!dependencies.has(name)) missing.push(`${file} imports ${name}`);
      }
    }
    expect(missing).toEqual([]);
    // The check sees the import that once was missing: the demo's.
    expect(imported).toContain('@promfleet/testkit');
  });

  it('reads imports the way the check needs', () => {
    const source = "import { a } from '@promfleet/x';\nimport type { T } from '@promfleet/types-only';\nimport 'side-effect';\nconst m = await import('@promfleet/lazy');\nimport { b } from './local.js';\nimport { c } from 'node:fs';\nimport {\n  d,\n} from 'yaml/util';\n";
    expect([...importedPackages(source)].sort()).toEqual(['@promfleet/lazy', '@promfleet/x', 'side-effect', 'yaml']);
  });
});
