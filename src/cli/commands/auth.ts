import type { Command } from 'commander';
import { createInterface } from 'node:readline';
import type { CliContext } from '../context.js';
import { ConfigError, UsageError } from '../../errors.js';
import { findOAuthAccount } from '../../db/oauthTokens.js';
import { mailboxKey } from '../../mail/addresses.js';

const EXAMPLES = `
Examples:
  $ crm-mail auth oauth jane@firm.com              # prints a consent URL, waits for the browser on 127.0.0.1
  $ crm-mail auth oauth jane@firm.com --paste      # on a server without a browser: paste the code back
  $ crm-mail --env-file .env.prod auth oauth jane@firm.com --json

The account must be enrolled first (crm-mail enroll jane@firm.com --auth oauth). The refresh token is
stored encrypted (AES-256-GCM) under CRM_GMAIL_SECRET_KEY; it is never printed.
Needs CRM_GMAIL_OAUTH_CLIENT_ID, CRM_GMAIL_OAUTH_CLIENT_SECRET and CRM_GMAIL_SECRET_KEY.`;

/** Reads one line from stdin (the pasted code or redirect URL); the prompt goes to stderr. */
function readLine(prompt: string): Promise<string> {
  return new Promise((resolve, reject) => {
    const rl = createInterface({ input: process.stdin, output: process.stderr, terminal: Boolean(process.stdin.isTTY) });
    let answered = false;
    rl.question(prompt, (answer) => {
      answered = true;
      rl.close();
      resolve(answer);
    });
    rl.on('close', () => {
      if (!answered) reject(new UsageError('no code was pasted (input closed).'));
    });
  });
}

export function registerAuth(program: Command, ctx: CliContext): void {
  const auth = program.command('auth').description("Gmail access for a partner's mailbox (the OAuth fallback)").addHelpText('after', EXAMPLES);
  auth
    .command('oauth <email>')
    .description('consent in a browser for one enrolled mailbox and store its refresh token encrypted')
    .option('--paste', 'do not listen on a loopback port: paste the code (or the redirect URL) instead')
    .addHelpText('after', EXAMPLES)
    .action(async (emailArgument: string, options: { paste?: boolean }) => {
      ctx.requireGmail('auth oauth');
      const email = mailboxKey(emailArgument);
      if (!/^[^@\s]+@[^@\s]+\.[^@\s]+$/.test(email)) throw new UsageError(`"${emailArgument}" is not an email address.`);
      const config = ctx.config;
      if (!config.oauthClientId || !config.oauthClientSecret) {
        throw new ConfigError('crm-mail auth oauth needs CRM_GMAIL_OAUTH_CLIENT_ID and CRM_GMAIL_OAUTH_CLIENT_SECRET (an OAuth client of type Desktop app).');
      }
      const key = config.secretKey;
      if (!key) throw new ConfigError('CRM_GMAIL_SECRET_KEY is not set: the refresh token is stored encrypted under it (make one with: openssl rand -base64 32).');
      // Check before the partner spends time in the browser.
      const db = ctx.db();
      if (!findOAuthAccount(db, email)) {
        throw new UsageError(`no enrolled account ${email}: enroll first (crm-mail enroll ${email} --auth oauth), then run crm-mail auth oauth ${email}.`);
      }
      const { runOAuthConsent, storeRefreshToken } = await import('../../gmail/oauthConsent.js');
      // The URL and instructions go to stderr even with --quiet: without them the command cannot proceed.
      const out = { info: (text: string) => ctx.out.stderrWrite(text + '\n') };
      const token = await runOAuthConsent({
        config,
        email,
        out,
        readPasted: options.paste ? () => readLine('code or URL: ') : undefined,
      });
      storeRefreshToken(db, email, token, key);
      if (ctx.out.json) return ctx.out.data({ email, stored: true, authMethod: 'oauth', status: 'active' });
      ctx.out.line(`${email}: consent stored (refresh token encrypted); the next sync reads this mailbox.`);
    });
}
