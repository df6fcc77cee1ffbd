import type { Command } from 'commander';
import { resolve } from 'node:path';
import type { CliContext } from '../context.js';
import { EXIT } from '../../errors.js';

const EXAMPLES = `
Examples:
  $ crm-mail doctor
  $ crm-mail --env-file .env.prod doctor --online      # also exchange a token for one enrolled user
  $ crm-mail doctor --model                            # also validate and load CRM_MAIL_MODEL
  $ crm-mail doctor --json | jq '.[] | select(.level != "OK")'

Each line is OK, WARN or FAIL with the fix. Exit code 1 when any check FAILs, else 0.`;

export function registerDoctor(program: Command, ctx: CliContext): void {
  program
    .command('doctor')
    .description('check the configuration, database, credentials, folders, model and cron; one line each with the fix')
    .option('--online', 'also exchange an access token for one enrolled user (contacts the token endpoint)')
    .option('--model', 'also validate the GGUF header of CRM_MAIL_MODEL and load it')
    .addHelpText('after', EXAMPLES)
    .action(async (options: { online?: boolean; model?: boolean }, command: Command) => {
      const { runDoctor } = await import('../../doctor/runDoctor.js');
      const { hasFailure } = await import('../../doctor/result.js');
      const results = await runDoctor({
        env: ctx.env,
        envOrigins: ctx.envOrigins,
        dbPath: doctorDbPath(ctx, command),
        online: Boolean(options.online),
        model: Boolean(options.model),
      });
      if (hasFailure(results)) ctx.exitCode = EXIT.failure;
      if (ctx.out.json) return ctx.out.data(results);
      const width = Math.max(...results.map((result) => result.name.length));
      for (const result of results) {
        const text = `${result.level.padEnd(4)}  ${result.name.padEnd(width)}  ${result.message}${result.fix ? `  -> fix: ${result.fix}` : ''}`;
        if (ctx.out.quiet && result.level === 'FAIL') ctx.out.error(text);
        else ctx.out.line(text);
      }
      const count = (level: string): number => results.filter((result) => result.level === level).length;
      ctx.out.line(`\n${count('FAIL')} FAIL, ${count('WARN')} WARN, ${count('OK')} OK`);
    });
}

/** The database path even when the configuration is invalid: the doctor must still look at the file. */
function doctorDbPath(ctx: CliContext, command: Command): string {
  try {
    return ctx.dbPath;
  } catch {
    const db = (command.optsWithGlobals() as { db?: string }).db;
    return resolve(db ?? (ctx.env.CRM_DB_PATH?.trim() || './data/crm.db'));
  }
}
