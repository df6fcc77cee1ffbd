import type { Command } from 'commander';
import type { CliContext } from '../context.js';
import { EXIT, NotFoundError, UsageError } from '../../errors.js';
import { renderTable, tableWidth, type TableColumn } from '../tableFit.js';
import { listAccounts } from '../../db/accounts.js';
import { parseExclusionPattern } from '../../privacy/exclusionPattern.js';
import { exclusionsInForce } from '../../privacy/exclusions.js';
import { normalizeAddress, normalizeDomain } from '../../mail/addresses.js';
import { actorName } from '../actor.js';
import { crashHook, purgeLine } from '../purgeOutput.js';
import { leaseHeldLine } from './sync.js';

const LEASE_WAIT_MS = 10 * 60 * 1000;

function normalized(text: string): string {
  const typed = text.trim();
  return typed.includes('@') && !typed.startsWith('@') ? normalizeAddress(typed) : normalizeDomain(typed);
}

const EXCLUSION_COLUMNS: TableColumn[] = [
  { head: 'pattern', priority: 0, minWidth: 16, wrap: true },
  { head: 'kind', priority: 2 },
  { head: 'from', priority: 1 },
  { head: 'reason', priority: 1, minWidth: 12, wrap: true },
  { head: 'added by', priority: 3, minWidth: 12, wrap: true },
  { head: 'added', priority: 3 },
];

export function registerExclude(program: Command, ctx: CliContext): void {
  const exclude = program
    .command('exclude')
    .description('addresses and domains whose mail is never captured: list, add (purges what is stored), remove')
    .addHelpText(
      'after',
      `
Examples:
  $ crm-mail exclude list
  $ crm-mail exclude add jane.doe@gmail.com --reason "partner's spouse" --dry-run
  $ crm-mail exclude add lawfirm.com --reason "outside counsel"
  $ crm-mail --json exclude remove lawfirm.com

A domain covers its whole registered domain and every sub-domain (mail.lawfirm.com -> lawfirm.com).
Adding an exclusion deletes every stored copy it would have refused (participants, investor links,
attachments and files no other message uses, emptied threads) and withdraws pending proposals drawn
from it; approved notes already in the CRM stay. CRM_GMAIL_EXCLUDE is listed as "environment" and
can only be changed there. The author is CRM_MAIL_USER, else the OS user.`,
    )
    .action(() => exclude.help());

  exclude
    .command('list')
    .description('the exclusions in force, from the database and from CRM_GMAIL_EXCLUDE')
    .option('--wide', 'show every column, however wide (by default the table fits the terminal, 80 columns when unknown)')
    .addHelpText('after', '\nExamples:\n  $ crm-mail exclude list\n  $ crm-mail exclude list --wide\n  $ crm-mail --json exclude list')
    .action((options: { wide?: boolean }) => {
      const rows = exclusionsInForce(ctx.db(), ctx.config.excludedAddresses);
      if (ctx.out.json) return ctx.out.data({ exclusions: rows });
      if (rows.length === 0) return ctx.out.line('no exclusions: all investor mail is captured (crm-mail exclude add ADDRESS|DOMAIN to keep someone out)');
      const cells = rows.map((row) => [row.pattern, row.kind, row.source === 'environment' ? 'environment (CRM_GMAIL_EXCLUDE)' : 'database', row.reason ?? '-', row.addedBy ?? '-', row.addedAt?.slice(0, 10) ?? '-']);
      ctx.out.write(renderTable(EXCLUSION_COLUMNS, cells, { maxWidth: tableWidth({ wide: options.wide, isTTY: ctx.out.isTTY, env: ctx.env }), color: ctx.out.isTTY }));
    });

  exclude
    .command('add <addressOrDomain>')
    .description('exclude an address or a whole domain and purge what is stored of its mail')
    .option('--reason <text>', 'why (recorded with who added it)')
    .option('--dry-run', 'show what would be purged, change nothing')
    .addHelpText(
      'after',
      '\nExamples:\n  $ crm-mail exclude add dr.smith@clinic.com --reason "doctor" --dry-run\n  $ crm-mail exclude add lawfirm.com --reason "outside counsel"\n\nWaits up to 10 minutes for a running sync to finish (one writer at a time).',
    )
    .action(async (typed: string, options: { reason?: string; dryRun?: boolean }) => {
      const db = ctx.db();
      const parsed = parseExclusionPattern(typed, {
        internalDomains: ctx.config.workspaceDomain ? [ctx.config.workspaceDomain] : [],
        mailboxes: listAccounts(db).map((account) => account.email),
        personalDomains: ctx.config.personalDomains,
      });
      const reason = options.reason?.trim() ? options.reason.trim().slice(0, 500) : null;
      const addedBy = actorName(ctx.config, ctx.env);
      const { withSyncLease } = await import('../../sync/runSync.js');
      const { addExclusion } = await import('../../privacy/exclusions.js');
      const { AttachmentStore } = await import('../../attachments.js');
      const store = new AttachmentStore(ctx.config.attachmentsDir);
      const leased = await withSyncLease(db, { waitMs: LEASE_WAIT_MS }, async () =>
        addExclusion(db, parsed, { reason, addedBy }, { store, dryRun: Boolean(options.dryRun), afterCommit: crashHook(ctx.env) }),
      );
      if (!leased.ran) {
        ctx.exitCode = EXIT.failure;
        if (ctx.out.json) return ctx.out.data({ ran: false, reason: 'lease_held', holder: leased.holder });
        return ctx.out.line(leaseHeldLine(leased.holder, 'exclude add waited 10 minutes and'));
      }
      const result = leased.value;
      const dryRun = Boolean(options.dryRun);
      if (ctx.out.json) {
        return ctx.out.data({ dryRun, pattern: result.pattern, kind: parsed.kind, widenedFrom: parsed.widenedFrom ?? null, added: result.added, reason, addedBy, purged: result.purged });
      }
      if (parsed.widenedFrom) ctx.out.line(`${parsed.widenedFrom} is part of ${parsed.pattern}: the whole registered domain is excluded, sub-domains included`);
      const state = result.added ? (dryRun ? 'would exclude' : 'excluded') : 'already excluded';
      ctx.out.line(`${state} ${parsed.kind} ${result.pattern}${reason ? ` (${reason})` : ''}${result.added ? `, by ${addedBy}` : ''}`);
      ctx.out.line(purgeLine(result.purged, 'delete', dryRun));
    });

  exclude
    .command('remove <addressOrDomain>')
    .description('stop excluding an address or domain; rematch --remote then brings its mail back')
    .option('--dry-run', 'say what would change, change nothing')
    .addHelpText('after', '\nExamples:\n  $ crm-mail exclude remove lawfirm.com --dry-run\n  $ crm-mail exclude remove lawfirm.com && crm-mail rematch --remote')
    .action((typed: string, options: { dryRun?: boolean }) => {
      const pattern = normalized(typed);
      if (pattern === '') throw new UsageError(`${JSON.stringify(typed.trim())} is neither an email address nor a domain.`);
      const db = ctx.db();
      const fromEnv = exclusionsInForce(db, ctx.config.excludedAddresses).filter((row) => row.source === 'environment' && row.pattern === pattern);
      if (fromEnv.length > 0) throw new UsageError(`${pattern} comes from the environment (CRM_GMAIL_EXCLUDE): remove it there; the CLI cannot.`);
      const dryRun = Boolean(options.dryRun);
      return import('../../privacy/exclusions.js').then(({ removeExclusion }) => {
        const result = removeExclusion(db, pattern, dryRun);
        if (!result.removed) throw new NotFoundError(`${pattern} is not excluded (see crm-mail exclude list).`);
        const hint = 'run crm-mail rematch --remote to fetch the mail it kept out (stored mail is not fetched again)';
        if (ctx.out.json) return ctx.out.data({ dryRun, pattern, removed: true, mailboxesToSearch: result.mailboxesToSearch, next: 'crm-mail rematch --remote' });
        ctx.out.line(`${dryRun ? 'would stop' : 'stopped'} excluding ${pattern}; ${hint}`);
      });
    });
}
