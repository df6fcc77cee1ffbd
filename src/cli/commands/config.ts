import type { Command } from 'commander';
import type { CliContext } from '../context.js';
import { accountQuotaBudget, describeConfig, sourceText } from '../../config.js';
import { describeQuotaModel, quotaModel } from '../../gmail/quotaModel.js';
import { QUOTA_MODEL_HOWTO } from '../../doctor/settingsChecks.js';

export function registerConfig(program: Command, ctx: CliContext): void {
  program
    .command('config')
    .description('print the effective configuration (secrets masked), where each value came from, and check it')
    .addHelpText('after', '\nExamples:\n  $ crm-mail config\n  $ crm-mail --env-file .env.beta config --json\n  $ CRM_GMAIL_QUOTA_MODEL=legacy crm-mail config     # a project that kept the legacy quota\n\nEach value is followed by its source: environment, the env file and line (path:line), or default.\nThe last lines say which Gmail quota model is in force and where the Cloud console shows yours.')
    .action(() => {
      // Validate first so a bad value is reported with its exit code before anything is printed.
      const config = ctx.config;
      const rows = describeConfig(ctx.env, ctx.envOrigins);
      const quota = describeQuotaModel(quotaModel(config.quotaModel), accountQuotaBudget(config));
      if (ctx.out.json) return ctx.out.data({ database: ctx.dbPath, variables: rows, integrationEnabled: config.integrationEnabled, quotaModel: config.quotaModel, quota });
      const width = Math.max(...rows.map((row) => row.name.length));
      ctx.out.line(`database: ${ctx.dbPath}`);
      for (const row of rows) {
        const value = row.source === 'unset' ? '(unset)' : row.value;
        ctx.out.line(`${row.name.padEnd(width)}  ${value}${row.source === 'unset' ? '' : `  (${sourceText(row)})`}`);
      }
      ctx.out.line(`quota: ${quota}`);
      ctx.out.line(`  which model your project has: ${QUOTA_MODEL_HOWTO}`);
    });
}
