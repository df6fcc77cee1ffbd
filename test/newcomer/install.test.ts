/**
 * The supported install: `npm pack`, then `npm install -g ./crm-mail-<version>.tgz` (or `npm link`).
 * A real global install needs the dependencies from the registry (better-sqlite3 also compiles), and
 * tests have no network; so this packs the real tarball, unpacks it where `npm install -g --prefix P`
 * puts a package (P/lib/node_modules/crm-mail), gives it this checkout's node_modules as the
 * dependencies npm would have installed, links P/bin/crm-mail to its bin as npm does, and runs
 * `crm-mail` by name from an unrelated folder.
 */
import { describe, expect, it, beforeAll } from 'vitest';
import { existsSync, mkdirSync, readFileSync, readdirSync, symlinkSync } from 'node:fs';
import { join } from 'node:path';
import { PROJECT_ROOT, runClean } from '../helpers/cli.js';
import { tempDir } from '../helpers/tmp.js';

const root = tempDir('crm-mail-install-');
const prefix = join(root, 'prefix');
const installed = join(prefix, 'lib', 'node_modules', 'crm-mail');
const version = (JSON.parse(readFileSync(join(PROJECT_ROOT, 'package.json'), 'utf8')) as { version: string }).version;
let files: string[] = [];

beforeAll(async () => {
  // dist/ is built by the test run (pretest); --ignore-scripts keeps pack from building it again.
  const pack = await runClean('npm', ['pack', '--ignore-scripts', '--offline', '--pack-destination', root, '--json'], { cwd: PROJECT_ROOT, timeoutMs: 120_000 });
  expect(pack.code, pack.stderr).toBe(0);
  const [report] = JSON.parse(pack.stdout) as Array<{ filename: string; files: Array<{ path: string }> }>;
  files = report!.files.map((file) => file.path);
  expect(report!.filename).toBe(`crm-mail-${version}.tgz`);
  mkdirSync(installed, { recursive: true });
  const untar = await runClean('tar', ['-xzf', join(root, report!.filename), '-C', installed, '--strip-components=1']);
  expect(untar.code, untar.stderr).toBe(0);
  symlinkSync(join(PROJECT_ROOT, 'node_modules'), join(installed, 'node_modules'));
  mkdirSync(join(prefix, 'bin'));
  symlinkSync(join('..', 'lib', 'node_modules', 'crm-mail', 'bin', 'crm-mail'), join(prefix, 'bin', 'crm-mail'));
}, 180_000);

describe('npm pack, then npm install -g', () => {
  it('packs a runnable crm-mail: the bin, the compiled program and the migrations, and nothing of the checkout', () => {
    expect(files).toEqual(expect.arrayContaining(['bin/crm-mail', 'bin/crm-mail.js', 'dist/src/cli/main.js', 'package.json', 'README.md', 'crontab.example']));
    expect(files.filter((file) => /^migrations\/\d{4}_.*\.sql$/.test(file)).length).toBe(readdirSync(join(PROJECT_ROOT, 'migrations')).filter((file) => file.endsWith('.sql')).length);
    const leaked = files.filter((file) => /^(test|src|bench|fixtures|\.ci)\/|^(AGENTS|CLAUDE)\.md$|tsconfig|vitest|\.map$/.test(file));
    expect(leaked).toEqual([]);
  });

  it('runs as `crm-mail` on PATH from any folder: --version, --help, and migrate finds its migrations', async () => {
    const elsewhere = tempDir('crm-mail-elsewhere-');
    const env = { PATH: `${join(prefix, 'bin')}:${process.env.PATH ?? ''}` };
    const shown = await runClean('sh', ['-c', 'command -v crm-mail && crm-mail --version'], { cwd: elsewhere, env });
    expect(shown.code, shown.stderr).toBe(0);
    expect(shown.stdout).toBe(`${join(prefix, 'bin', 'crm-mail')}\n${version}\n`);
    const help = await runClean('crm-mail', ['--help'], { cwd: elsewhere, env });
    expect(help.code).toBe(0);
    expect(help.stdout).toContain('Usage: crm-mail');
    const migrate = await runClean('crm-mail', ['migrate', '--db', join(elsewhere, 'crm.db')], { cwd: elsewhere, env });
    expect(migrate.code, migrate.stderr).toBe(0);
    expect(existsSync(join(elsewhere, 'crm.db'))).toBe(true);
    // --env-file after the command name reaches crm-mail, not Node (the sh wrapper's job).
    const config = await runClean('crm-mail', ['--env-file', join(elsewhere, 'missing.env'), 'config'], { cwd: elsewhere, env });
    expect(config.stderr).toContain(`cannot read --env-file ${join(elsewhere, 'missing.env')}`);
  });
});
