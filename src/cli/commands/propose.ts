import type { Command } from 'commander';
import type { CliContext } from '../context.js';
import { UsageError } from '../../errors.js';

const EXAMPLES = `
Examples:
  $ CRM_MAIL_MODEL=/models/qwen2.5-1.5b-instruct-q4_k_m.gguf crm-mail propose
  $ crm-mail propose --drafter rule --limit 200
  $ crm-mail propose --dry-run --json
  $ crm-mail propose --since 2026-11-01 --force     # move the cutoff back (older mail becomes eligible)

The first run sets app_settings.email_activity_since to now: mail dated before it is never proposed.
Exit codes: 0 ok, 1 some drafts failed (they are retried next run), 2 usage or no drafter configured.`;

interface ProposeCliOptions {
  limit?: string;
  dryRun?: boolean;
  drafter?: string;
  since?: string;
  force?: boolean;
}

function parseLimit(text: string | undefined): number | undefined {
  if (text === undefined) return undefined;
  if (!/^\d+$/.test(text) || Number(text) < 1) throw new UsageError(`--limit must be a whole number of at least 1 (got ${JSON.stringify(text)}).`);
  return Number(text);
}

function parseDrafter(text: string | undefined): 'llama' | 'rule' | undefined {
  if (text === undefined) return undefined;
  const lower = text.toLowerCase();
  if (lower !== 'llama' && lower !== 'rule') throw new UsageError(`--drafter must be llama or rule (got ${JSON.stringify(text)}).`);
  return lower;
}

export function registerPropose(program: Command, ctx: CliContext): void {
  program
    .command('propose')
    .description('draft activity notes for new investor mail and queue them for review (nothing is written to notes)')
    .option('--limit <n>', 'candidates handled in this run (default 50); the rest wait for the next run')
    .option('--dry-run', 'draft and show the notes, store nothing (not even the first-run cutoff)')
    .option('--drafter <kind>', 'llama (local model, CRM_MAIL_MODEL) or rule (deterministic); default from CRM_MAIL_DRAFTER / CRM_MAIL_MODEL')
    .option('--since <date>', 'move the cutoff to this date (needs --force)')
    .option('--force', 'allow --since to move the cutoff')
    .addHelpText('after', EXAMPLES)
    .action(async (options: ProposeCliOptions) => {
      const limit = parseLimit(options.limit);
      const drafter = parseDrafter(options.drafter);
      const out = ctx.out;
      const config = ctx.config;
      const db = ctx.db();
      const { runPropose } = await import('../../activity/propose.js');
      const log = (line: string) => (out.json ? out.info(line) : out.line(line));
      const result = await runPropose(db, config, { limit, dryRun: options.dryRun, drafter, since: options.since, force: options.force }, log);
      if (result.failed > 0) ctx.exitCode = 1;
      if (out.json) return out.data({ ...result, durationMs: Math.round(result.durationMs), loadMs: result.loadMs === undefined ? undefined : Math.round(result.loadMs) });
      if (result.preview) for (const item of result.preview) out.line(`would propose (investor ${item.investorId}): ${item.note}`);
      const model = result.model ? ` (${result.model})` : '';
      out.line(
        `${options.dryRun ? 'dry run: ' : ''}proposed ${result.proposed} of ${result.candidates} candidate${result.candidates === 1 ? '' : 's'}` +
          ` with the ${result.drafter} drafter${model} in ${(result.durationMs / 1000).toFixed(1)} s;` +
          ` already proposed by another run ${result.skippedExisting}, failed ${result.failed}, remaining ${result.remaining}; cutoff ${result.cutoff}`,
      );
      if (result.remaining > 0) out.line(`${result.remaining} more wait for the next run (or run again with a higher --limit).`);
    });
}
