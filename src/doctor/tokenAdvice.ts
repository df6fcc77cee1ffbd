/**
 * The fix the --online token check gives, read from the error Google (or the key file) gave. The
 * auth method alone says too little: a wrong OAuth client secret is fixed in the configuration,
 * not by asking a partner to consent again, and a key file readable by others is a chmod, not a
 * delegation problem.
 */
import type { AuthMethod } from '../config.js';
import { CREDENTIAL_REASON } from '../errors.js';
import { GMAIL_SCOPE, NEW_KEY_FIX } from './settingsChecks.js';

export interface TokenFailure {
  kind?: string;
  reason?: string;
}

const NEW_KEY_FILE_FIX = `replace the key file: ${NEW_KEY_FIX}, then chmod 600 it`;

const DELEGATION_FIX = `in the Admin console (Security > Access and data control > API controls > Domain-wide delegation) authorize the service account's client id for ${GMAIL_SCOPE}; a new grant can take a while to apply`;

const OAUTH_CLIENT_FIX =
  "fix CRM_GMAIL_OAUTH_CLIENT_ID and CRM_GMAIL_OAUTH_CLIENT_SECRET in the configuration: the firm's OAuth client (Google Cloud console > APIs & Services > Credentials); no partner needs to do anything";

export function tokenFix(failure: TokenFailure, method: AuthMethod, user: string, keyPath?: string): string {
  switch (failure.reason) {
    case CREDENTIAL_REASON.keyFileMode:
      return `chmod 600 ${keyPath ?? '<the key file>'}`;
    case CREDENTIAL_REASON.keyFileUnreadable:
    case CREDENTIAL_REASON.keyFileMalformed:
      return NEW_KEY_FILE_FIX;
    case CREDENTIAL_REASON.noConsent:
      return `the partner consents: crm-mail auth oauth ${user}`;
    case 'invalid_client':
      // For a service account, Google's invalid_client means its key was deleted or disabled.
      return method === 'oauth' ? OAUTH_CLIENT_FIX : NEW_KEY_FILE_FIX;
    case 'unauthorized_client':
    case 'access_denied':
      return method === 'oauth' ? OAUTH_CLIENT_FIX : DELEGATION_FIX;
    case 'invalid_grant':
      return method === 'oauth'
        ? `the partner consents again: crm-mail auth oauth ${user}`
        : `check that ${user} is an active Workspace user and that the delegation (client id, scope ${GMAIL_SCOPE}) is in place; check this machine's clock too`;
  }
  if (failure.kind === 'transient' || failure.kind === 'rate_limit') return 'the token endpoint could not be reached or is busy: check the network (and CRM_GMAIL_TOKEN_URL if set), then run the doctor again';
  if (failure.kind === 'config') return 'correct the setting the message names (crm-mail config prints every effective value)';
  return method === 'oauth' ? `read the error above; if the consent is the problem: crm-mail auth oauth ${user}` : `read the error above; see the domain-wide delegation runbook in the README`;
}
