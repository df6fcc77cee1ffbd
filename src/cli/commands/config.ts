import type { Command } from 'commander';
import type { CliContext } from '../context.js';
import { describeConfig } from '../../config.js';

export function registerConfig(program: Command, ctx: CliContext): void {
  program
    .command('config')
    .description('print the effective configuration (secrets masked) and check it')
    .addHelpText('after', '\nExamples:\n  $ crm-mail config\n  $ crm-mail --env-file .env.beta config --json')
    .action(() => {
      // Validate first so a bad value is reported with its exit code before anything is printed.
      const config = ctx.config;
      const rows = describeConfig(ctx.env);
      if (ctx.out.json) return ctx.out.data({ database: ctx.dbPath, variables: rows, integrationEnabled: config.integrationEnabled });
      const width = Math.max(...rows.map((row) => row.name.length));
      ctx.out.line(`database: ${ctx.dbPath}`);
      for (const row of rows) {
        const value = row.source === 'unset' ? '(unset)' : row.value;
        ctx.out.line(`${row.name.padEnd(width)}  ${value}${row.source === 'default' ? '  (default)' : ''}`);
      }
    });
}
