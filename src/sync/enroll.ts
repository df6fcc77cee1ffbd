/**
 * Who may be enrolled: an active CRM user whose address is in the firm's Workspace domain. Enrolling
 * creates the email_accounts row; nothing talks to Gmail here (the first sync does).
 */
import type { Db } from '../db/open.js';
import { findCrmUser, getAccountByUserId, insertAccount, listCrmUsers, type Account, type CrmUser } from '../db/accounts.js';
import { ConfigError } from '../errors.js';
import { mailboxKey } from '../mail/addresses.js';

export type EnrollOutcome =
  | { email: string; result: 'added'; account: Account }
  | { email: string; result: 'already'; account: Account }
  | { email: string; result: 'skipped'; reason: string; code: 'unknown_user' | 'inactive' | 'outside_domain' };

function domainOf(email: string): string {
  const at = email.lastIndexOf('@');
  return at < 0 ? '' : email.slice(at + 1).trim().toLowerCase();
}

function requireDomain(workspaceDomain: string | undefined): string {
  if (!workspaceDomain) {
    throw new ConfigError("CRM_GMAIL_WORKSPACE_DOMAIN is not set: enrollment needs the firm's Workspace domain, e.g. firm.com.");
  }
  return workspaceDomain.toLowerCase();
}

/** Why this user may not be enrolled, or undefined when they may. */
export function refusal(user: CrmUser | undefined, email: string, workspaceDomain: string): Extract<EnrollOutcome, { result: 'skipped' }> | undefined {
  if (!user) return { email, result: 'skipped', code: 'unknown_user', reason: `${email} is not a user in the CRM (users table)` };
  if (!user.isActive) return { email: user.email, result: 'skipped', code: 'inactive', reason: `${user.email} is inactive in the CRM` };
  const domain = domainOf(user.email);
  if (domain !== workspaceDomain) {
    return { email: user.email, result: 'skipped', code: 'outside_domain', reason: `${user.email} is outside the workspace domain ${workspaceDomain}` };
  }
  return undefined;
}

export function enrollOne(db: Db, email: string, options: { workspaceDomain?: string; authMethod: 'dwd' | 'oauth' }): EnrollOutcome {
  const domain = requireDomain(options.workspaceDomain);
  const user = findCrmUser(db, email);
  const refused = refusal(user, mailboxKey(email), domain);
  if (refused) return refused;
  return addOrKeep(db, user!, options.authMethod);
}

function addOrKeep(db: Db, user: CrmUser, authMethod: 'dwd' | 'oauth'): EnrollOutcome {
  const existing = getAccountByUserId(db, user.id);
  if (existing) return { email: existing.email, result: 'already', account: existing };
  // An OAuth account cannot sync until the partner consents; the consent flow makes it active.
  const account = insertAccount(db, { userId: user.id, email: user.email, authMethod, status: authMethod === 'oauth' ? 'needs_consent' : 'active' });
  return { email: account.email, result: 'added', account };
}

/** Enrolls every active user of the domain; reports each user once, in the CRM's order. */
export function enrollAll(db: Db, options: { workspaceDomain?: string; authMethod: 'dwd' | 'oauth' }): EnrollOutcome[] {
  const domain = requireDomain(options.workspaceDomain);
  return db.transaction(() =>
    listCrmUsers(db).map((user) => refusal(user, user.email, domain) ?? addOrKeep(db, user, options.authMethod)),
  )();
}
