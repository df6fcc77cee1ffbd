import type { Command } from 'commander';
import type { CliContext } from '../context.js';
import { uninstall, ownSettings, ownTables, ownViews } from '../../db/migrate.js';
import { UsageError } from '../../errors.js';

export function registerUninstall(program: Command, ctx: CliContext): void {
  program
    .command('uninstall')
    .description("drop crm-mail's own tables and views after a backup; the CRM's tables and rows are never touched")
    .option('--yes', 'confirm: without it, only lists what would be dropped')
    .option('--no-backup', 'skip the online backup taken first')
    .addHelpText('after', '\nExamples:\n  $ crm-mail uninstall            # list what would be dropped\n  $ crm-mail uninstall --yes      # back up, then drop')
    .action(async (options: { yes?: boolean; backup: boolean }) => {
      const db = ctx.db({ migrated: false });
      if (!options.yes) {
        const tables = [...ownTables(db), ...ownViews(db)];
        const settings = ownSettings(db);
        // Without --yes both forms exit 2: a script must not read "nothing happened" as success.
        if (ctx.out.json) ctx.out.data({ dropped: false, wouldDrop: tables, wouldRemoveSettings: settings });
        else {
          ctx.out.line(tables.length === 0 ? 'no crm-mail tables in this database' : `would drop: ${tables.join(', ')}`);
          if (settings.length > 0) ctx.out.line(`would remove from app_settings: ${settings.join(', ')}`);
        }
        throw new UsageError('uninstall needs --yes to drop anything.');
      }
      const result = await uninstall(db, ctx.dbPath, options.backup);
      if (ctx.out.json) return ctx.out.data(result);
      if (result.backupPath) ctx.out.line(`backup: ${result.backupPath}`);
      ctx.out.line(result.dropped.length === 0 ? 'nothing to drop' : `dropped: ${result.dropped.join(', ')}`);
      if (result.settingsRemoved.length > 0) ctx.out.line(`removed from app_settings: ${result.settingsRemoved.join(', ')}`);
      ctx.out.line('Remove the cron line (crontab -e) and the attachments folder yourself if you no longer want them.');
    });
}
