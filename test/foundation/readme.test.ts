import { describe, expect, it } from 'vitest';
import { readFileSync } from 'node:fs';
import { join } from 'node:path';
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
});
