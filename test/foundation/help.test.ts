import { describe, expect, it } from 'vitest';
import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { PROJECT_ROOT, runCli } from '../helpers/cli.js';
import { buildProgram } from '../../src/cli/main.js';
import { CliContext } from '../../src/cli/context.js';
import type { Command } from 'commander';

function commandPaths(command: Command, prefix: string[] = []): string[][] {
  return command.commands.flatMap((child) => {
    const path = [...prefix, child.name()];
    return [path, ...commandPaths(child, path)];
  });
}

describe('--help', () => {
  it('the program prints usage, examples and exit codes', async () => {
    const result = await runCli(['--help']);
    expect(result.code).toBe(0);
    expect(result.stdout).toContain('Usage: crm-mail');
    expect(result.stdout).toContain('Exit codes:');
  });

  it('every command (and subcommand) prints its help with an example', async () => {
    const paths = commandPaths(buildProgram(new CliContext({})));
    expect(paths.length).toBeGreaterThanOrEqual(3);
    for (const path of paths) {
      const result = await runCli([...path, '--help']);
      expect(result.code, `${path.join(' ')} --help: ${result.stderr}`).toBe(0);
      expect(result.stdout, path.join(' ')).toContain(`Usage: crm-mail ${path.join(' ')}`);
      expect(result.stdout, `${path.join(' ')} has no example`).toMatch(/Examples?:/);
    }
  });

  it('--version and -V print the package version; no command prints help on stdout with exit 0', async () => {
    const { version } = JSON.parse(readFileSync(join(PROJECT_ROOT, 'package.json'), 'utf8')) as { version: string };
    for (const flag of ['--version', '-V']) {
      const result = await runCli([flag]);
      expect(result.code).toBe(0);
      expect(result.stdout.trim()).toBe(version);
    }
    for (const args of [[], ['--json'], ['--db', 'x.db']]) {
      const bare = await runCli(args);
      expect(bare.code, args.join(' ')).toBe(0);
      expect(bare.stdout).toContain('Usage: crm-mail');
      expect(bare.stderr).toBe('');
    }
  });

  it('an unknown review subcommand is an unknown command, not "too many arguments"', async () => {
    const result = await runCli(['review', 'frobnicate']);
    expect(result.code).toBe(2);
    expect(result.stderr).toContain("unknown command 'review frobnicate'");
  });

  it('an unknown command is a usage error (exit 2)', async () => {
    const result = await runCli(['frobnicate']);
    expect(result.code).toBe(2);
    expect(result.stderr).toContain("unknown command 'frobnicate'");
  });
});
