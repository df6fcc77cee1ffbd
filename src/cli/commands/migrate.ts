import { existsSync } from 'node:fs';
import type { Command } from 'commander';
import type { CliContext } from '../context.js';
import { migrate, migrationStatus } from '../../db/migrate.js';

export function registerMigrate(program: Command, ctx: CliContext): void {
  program
    .command('migrate')
    .description("create or update crm-mail's tables (the CRM tables it relies on only in a new file, or with --create-crm-tables)")
    .option('--status', 'list applied and pending migrations, change nothing')
    .option('--dry-run', 'show what would be applied, change nothing')
    .option('--no-backup', 'skip the online backup taken before applying')
    .option('--create-crm-tables', 'on a file that already has tables, also create the missing CRM tables (users, investors, fundraising_state, app_settings)')
    .addHelpText('after', '\nExamples:\n  $ crm-mail migrate --db ./data/crm.db\n  $ crm-mail migrate --status --json\n  $ crm-mail migrate --dry-run\n\nOn an existing file, migrate first checks the CRM tables crm-mail relies on and refuses, with what\nis missing, a file that is not a CRM. It creates the CRM tables only in a new or empty file, or with\n--create-crm-tables.')
    .action(async (options: { status?: boolean; dryRun?: boolean; backup: boolean; createCrmTables?: boolean }) => {
      const out = ctx.out;
      // Only applying migrations may create the file; --status and --dry-run open it read-only.
      const changesNothing = Boolean(options.status || options.dryRun);
      const creating = !changesNothing && !existsSync(ctx.dbPath);
      const db = ctx.db({ migrated: false, readonly: changesNothing, create: !changesNothing });
      if (creating) out.line(`created a new database ${ctx.dbPath} (mode 600)`);
      if (options.status) {
        const statuses = migrationStatus(db);
        if (out.json) return out.data(statuses);
        for (const status of statuses) out.line(`${status.state.padEnd(8)} ${status.name}${status.appliedAt ? `  (${status.appliedAt})` : ''}`);
        return;
      }
      const result = await migrate(db, { dbPath: ctx.dbPath, backup: options.backup, dryRun: Boolean(options.dryRun), createCrmTables: Boolean(options.createCrmTables) });
      if (out.json) return out.data({ database: ctx.dbPath, created: creating, dryRun: Boolean(options.dryRun), ...result });
      if (result.backupPath) out.line(`backup: ${result.backupPath}`);
      if (options.dryRun) {
        out.line(result.pending.length === 0 ? 'nothing to apply' : `would apply: ${result.pending.join(', ')}`);
      } else if (result.applied.length === 0) {
        out.line(`${ctx.dbPath}: up to date, nothing to apply`);
      } else {
        for (const name of result.applied) out.line(`applied ${name}`);
      }
    });
}
