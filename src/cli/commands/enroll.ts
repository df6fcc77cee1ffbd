import type { Command } from 'commander';
import type { CliContext } from '../context.js';
import { ConfigError, NotFoundError, UsageError } from '../../errors.js';
import { enrollAll, enrollOne, type EnrollOutcome } from '../../sync/enroll.js';
import { getAccountByEmail } from '../../db/accounts.js';

function describe(outcome: EnrollOutcome): string {
  if (outcome.result === 'added') return `added    ${outcome.email}${outcome.account.status === 'needs_consent' ? ' (oauth: needs consent)' : ''}`;
  if (outcome.result === 'already') return `already  ${outcome.email} (${outcome.account.status})`;
  return `skipped  ${outcome.email}: ${outcome.reason}`;
}

function toJson(outcome: EnrollOutcome): Record<string, unknown> {
  if (outcome.result === 'skipped') return { email: outcome.email, result: outcome.result, reason: outcome.reason, code: outcome.code };
  return { email: outcome.email, result: outcome.result, status: outcome.account.status, authMethod: outcome.account.authMethod };
}

export function registerEnroll(program: Command, ctx: CliContext): void {
  program
    .command('enroll <email>')
    .description('enroll an active CRM user of the workspace domain, so sync captures their mailbox')
    .option('--auth <method>', 'dwd (domain-wide delegation, the default) or oauth (runs the consent flow now)')
    .addHelpText(
      'after',
      `
Examples:
  $ crm-mail enroll jane@northwind.vc
  $ crm-mail enroll omar@northwind.vc --auth oauth     # prints a consent URL for Omar

Refuses, with the reason, a user unknown to the CRM, an inactive user, or one outside
CRM_GMAIL_WORKSPACE_DOMAIN. Enrolling twice is harmless.`,
    )
    .action(async (email: string, options: { auth?: string }) => {
      const authMethod = (options.auth ?? ctx.config.authMethod).toLowerCase();
      if (authMethod !== 'dwd' && authMethod !== 'oauth') throw new UsageError(`--auth must be dwd or oauth, not ${JSON.stringify(options.auth)}.`);
      ctx.requireGmail(authMethod === 'oauth' ? 'enroll --auth oauth' : 'enroll');
      const db = ctx.db();
      const outcome = enrollOne(db, email, { workspaceDomain: ctx.config.workspaceDomain, authMethod });
      if (outcome.result === 'skipped') {
        if (outcome.code === 'unknown_user') throw new NotFoundError(`cannot enroll: ${outcome.reason}.`);
        throw new UsageError(`cannot enroll: ${outcome.reason}.`);
      }
      if (authMethod === 'oauth' && (outcome.result === 'added' || outcome.account.status === 'needs_consent' || outcome.account.authMethod !== 'oauth')) {
        await runConsent(ctx, outcome.email);
        outcome.account = getAccountByEmail(db, outcome.email) ?? outcome.account;
      }
      if (ctx.out.json) return ctx.out.data(toJson(outcome));
      ctx.out.line(describe(outcome));
    });

  program
    .command('enroll-all')
    .description('enroll every active CRM user whose address is in CRM_GMAIL_WORKSPACE_DOMAIN')
    .addHelpText(
      'after',
      `
Examples:
  $ crm-mail enroll-all
  $ crm-mail enroll-all --json

Reports who was added, who already was, and who was skipped and why (inactive, outside the domain).`,
    )
    .action(() => {
      ctx.requireGmail('enroll-all');
      const db = ctx.db();
      const outcomes = enrollAll(db, { workspaceDomain: ctx.config.workspaceDomain, authMethod: ctx.config.authMethod });
      const count = (result: EnrollOutcome['result']) => outcomes.filter((outcome) => outcome.result === result).length;
      if (ctx.out.json) {
        return ctx.out.data({ added: count('added'), already: count('already'), skipped: count('skipped'), users: outcomes.map(toJson) });
      }
      for (const outcome of outcomes) ctx.out.line(describe(outcome));
      ctx.out.line(`${count('added')} added, ${count('already')} already enrolled, ${count('skipped')} skipped`);
    });
}

/** The OAuth consent flow of the Gmail access layer (loaded only when asked for); the token is stored sealed. */
async function runConsent(ctx: CliContext, email: string): Promise<void> {
  const key = ctx.config.secretKey;
  if (!key) throw new ConfigError('CRM_GMAIL_SECRET_KEY is not set: OAuth refresh tokens are stored encrypted under it (openssl rand -base64 32).');
  const { runOAuthConsent, storeRefreshToken } = await import('../../gmail/oauthConsent.js');
  const token = await runOAuthConsent({ config: ctx.config, email, out: { info: (text) => ctx.out.info(text) } });
  storeRefreshToken(ctx.db(), email, token, key);
  ctx.out.info(`consent stored for ${email}; the next sync captures the mailbox.`);
}
