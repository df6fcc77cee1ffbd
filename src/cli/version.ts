/** The package's version, read from its package.json so that `--version` never drifts from the release. */
import { existsSync, readFileSync } from 'node:fs';
import { dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';

export function packageVersion(): string {
  // src/cli in a checkout, dist/src/cli once built: the package root is two or three folders up.
  let dir = dirname(fileURLToPath(import.meta.url));
  for (let depth = 0; depth < 4; depth += 1) {
    const candidate = join(dir, 'package.json');
    if (existsSync(candidate)) {
      const manifest = JSON.parse(readFileSync(candidate, 'utf8')) as { name?: string; version?: string };
      if (manifest.name === 'crm-mail' && manifest.version) return manifest.version;
    }
    dir = dirname(dir);
  }
  return 'unknown';
}
