import { describe, expect, it } from 'vitest';
import { readdirSync, readFileSync } from 'node:fs';
import { dirname, join } from 'node:path';
import { VARIABLES } from '../../src/config.js';
import { buildProgram } from '../../src/cli/main.js';
import { CliContext } from '../../src/cli/context.js';
import { PROJECT_ROOT } from '../helpers/cli.js';

const readme = readFileSync(join(PROJECT_ROOT, 'README.md'), 'utf8');

describe('README stays true to the code', () => {
  it('lists every environment variable with its default', () => {
    for (const variable of VARIABLES) {
      const row = readme.split('\n').find((line) => line.startsWith(`| \`${variable.name}\` |`));
      expect(row, `${variable.name} missing from README`).toBeDefined();
      if (variable.defaultValue) expect(row).toContain(`\`${variable.defaultValue}\``);
    }
  });

  it('documents every command with an example', () => {
    const names = buildProgram(new CliContext({})).commands.map((command) => command.name());
    for (const name of names) {
      expect(readme, `command ${name}`).toMatch(new RegExp('`crm-mail [^`]*\\b' + name + '\\b'));
    }
  });

  it('shows the install and test commands', () => {
    expect(readme).toContain('npm ci');
    expect(readme).toContain('npm test');
    expect(readme).toContain('npm run demo');
  });

  it('says what the install and the tests need, and CI installs exactly that on a bare machine', () => {
    const ci = readFileSync(join(PROJECT_ROOT, '.ci', 'run'), 'utf8');
    for (const tool of ['python3', 'make', 'g++', 'tmux', 'sqlite3']) {
      expect(readme, tool).toContain(`\`${tool}\``);
      // Installed when missing: the check and the package name are both in .ci/run.
      expect(ci, tool).toContain(`command -v ${tool} >/dev/null 2>&1 || need+=(${tool})`);
    }
    expect(ci).toMatch(/apt-get install -y[^\n]*"\$\{need\[@\]\}"/);
    // Both suites, in the README's words.
    expect(readme).toContain('npm run test:conformance');
    expect(ci).toMatch(/^npm ci$/m);
    expect(ci).toMatch(/^npm test$/m);
    expect(ci).toMatch(/^npm run test:conformance$/m);
  });

  it('keeps every test that reads ../shared out of npm test (a user\'s clone has none)', () => {
    const config = readFileSync(join(PROJECT_ROOT, 'vitest.config.ts'), 'utf8');
    expect(config).toContain("'test/conformance/**'");
    const files = readdirSync(join(PROJECT_ROOT, 'test'), { recursive: true, encoding: 'utf8' })
      .filter((file) => file.endsWith('.ts') && !file.startsWith('conformance'));
    const readers = files.filter((file) => /['"`]\.\.\/shared|['"`]shared['"`]|\.\.\/\.\.\/\.\.\/shared/.test(readFileSync(join(PROJECT_ROOT, 'test', file), 'utf8')));
    // The detector sees the corpus helper (so an empty list would not pass for a blind one).
    expect(readers).toContain(join('pipeline', 'support.ts'));
    // Helpers outside test/conformance may name ../shared only if no default-suite test imports them.
    const importsOf = (file: string): string[] =>
      [...readFileSync(join(PROJECT_ROOT, 'test', file), 'utf8').matchAll(/from '(\.{1,2}\/[^']+)\.js'/g)].map((found) => join(dirname(file), `${found[1]}.ts`));
    for (const reader of readers) {
      expect(reader.endsWith('.test.ts'), `${reader} reads ../shared but runs under npm test`).toBe(false);
      const importers = files.filter((file) => file.endsWith('.test.ts') && importsOf(file).includes(reader));
      expect(importers, `${reader} is imported by default-suite tests`).toEqual([]);
    }
  });
});
