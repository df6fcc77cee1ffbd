/**
 * The OAuth fallback's consent flow for a terminal: build the consent URL (offline access, the
 * readonly scope, PKCE and a random state), receive the code on a loopback redirect (or take a
 * pasted code or redirect URL, for a machine without a browser), exchange it for tokens, check
 * the consent was given for the right mailbox, and store the refresh token sealed.
 */
import { createServer, type Server } from 'node:http';
import { randomBytes } from 'node:crypto';
import type { AddressInfo } from 'node:net';
import { OAuth2Client, CodeChallengeMethod } from 'google-auth-library';
import { gmail } from '@googleapis/gmail';
import type { Config } from '../config.js';
import { AuthError, ConfigError, UsageError } from '../errors.js';
import type { Db } from '../db/open.js';
import { findOAuthAccount, saveSealedRefreshToken } from '../db/oauthTokens.js';
import { GMAIL_READONLY_SCOPE, GOOGLE_AUTH_URL, isLoopbackUrl } from './auth.js';
import { seal } from './secretBox.js';
import { toCrmMailError } from './retry.js';
import { mailboxKey } from '../mail/addresses.js';

export interface ConsentOutput {
  /** Instructions for the human (the consent URL); never secrets. */
  info(text: string): void;
}

export interface OAuthConsentOptions {
  config: Config;
  email: string;
  out: ConsentOutput;
  /** Called with the consent URL (open a browser; tests follow the redirect themselves). */
  openUrl?(url: string): void | Promise<void>;
  /** Paste mode: no loopback server; this returns what the user pasted (the code or the whole redirect URL). */
  readPasted?(): Promise<string>;
  /** How long to wait for the redirect. Default 5 minutes. */
  timeoutMs?: number;
}

/** The consent page: Google's, or the same path on the host of CRM_GMAIL_TOKEN_URL (the emulator, a staging endpoint). */
export function consentBaseUrl(config: Pick<Config, 'tokenUrl'>): string {
  return config.tokenUrl ? new URL('/o/oauth2/v2/auth', config.tokenUrl).href : GOOGLE_AUTH_URL;
}

function isLoopback(url: URL): boolean {
  return url.protocol === 'http:' && (url.hostname === '127.0.0.1' || url.hostname === 'localhost' || url.hostname === '[::1]');
}

interface Redirect {
  code: string;
  state: string | null;
}

function readRedirect(params: URLSearchParams, email: string): Redirect {
  const error = params.get('error');
  if (error) {
    const why = error === 'access_denied' ? 'consent was refused (or the account is not allowed)' : error.replace(/[^\w.-]/g, '').slice(0, 60);
    throw new AuthError(`Google did not grant access to ${email}: ${why}.`, { reason: error.slice(0, 60) });
  }
  const code = params.get('code');
  if (!code) throw new UsageError('the redirect carried no authorization code; paste the whole URL the browser was sent to.');
  return { code, state: params.get('state') };
}

/** gaxios sends loopback requests through HTTPS_PROXY too, unless told not to. */
function loopbackNoProxy(url: string | undefined): { noProxy: string[] } | undefined {
  return url && isLoopbackUrl(url) ? { noProxy: [new URL(url).hostname] } : undefined;
}

/** Parses what the user pasted: the full redirect URL, its query string, or just the code. */
export function parsePastedCode(text: string, email: string): Redirect {
  const value = text.trim();
  if (value === '') throw new UsageError('nothing was pasted: paste the code, or the whole URL the browser was sent to.');
  if (/^https?:\/\//i.test(value)) return readRedirect(new URL(value).searchParams, email);
  if (value.includes('code=') || value.includes('error=')) return readRedirect(new URLSearchParams(value.replace(/^[?#]/, '')), email);
  return { code: value, state: null };
}

/** Serves one loopback redirect and resolves with its query. */
function listenForRedirect(redirect: URL, timeoutMs: number): Promise<{ server: Server; port: number; result: Promise<URLSearchParams> }> {
  return new Promise((resolveListen, rejectListen) => {
    let settle!: (value: URLSearchParams) => void;
    let fail!: (error: Error) => void;
    const result = new Promise<URLSearchParams>((resolve, reject) => {
      settle = resolve;
      fail = reject;
    });
    const server = createServer((req, res) => {
      const url = new URL(req.url ?? '/', 'http://127.0.0.1');
      if (url.pathname !== redirect.pathname) {
        res.writeHead(404, { 'Content-Type': 'text/plain; charset=utf-8' }).end('not found\n');
        return;
      }
      const ok = url.searchParams.has('code');
      res.writeHead(ok ? 200 : 400, { 'Content-Type': 'text/plain; charset=utf-8', Connection: 'close' });
      res.end(ok ? 'crm-mail received the consent. You can close this tab and return to the terminal.\n' : 'crm-mail did not receive a consent code. Return to the terminal.\n');
      settle(url.searchParams);
    });
    const timer = setTimeout(() => fail(new AuthError(`no consent was received within ${Math.round(timeoutMs / 1000)} s; run the command again.`)), timeoutMs);
    timer.unref();
    void result.catch(() => undefined).finally(() => clearTimeout(timer));
    server.on('error', (error: NodeJS.ErrnoException) => {
      rejectListen(new ConfigError(`cannot listen on ${redirect.host} for the OAuth redirect (${error.code ?? error.message}); choose another port in CRM_GMAIL_OAUTH_REDIRECT_URI or use --paste.`));
    });
    const host = redirect.hostname === 'localhost' ? '127.0.0.1' : redirect.hostname.replace(/^\[|\]$/g, '');
    server.listen(Number(redirect.port || 0), host, () => {
      resolveListen({ server, port: (server.address() as AddressInfo).port, result });
    });
  });
}

/**
 * Runs the consent for `email` and returns its refresh token. Checks that the account consented is
 * `email` (a partner signed in as someone else is refused). Stores nothing: see storeRefreshToken.
 */
export async function runOAuthConsent(options: OAuthConsentOptions): Promise<string> {
  const { config, out } = options;
  const email = mailboxKey(options.email);
  if (!config.oauthClientId || !config.oauthClientSecret) {
    throw new ConfigError('crm-mail auth oauth needs CRM_GMAIL_OAUTH_CLIENT_ID and CRM_GMAIL_OAUTH_CLIENT_SECRET (a Desktop-app OAuth client).');
  }
  const paste = Boolean(options.readPasted);
  const configured = config.oauthRedirectUri ? new URL(config.oauthRedirectUri) : undefined;
  if (configured && !paste && !isLoopback(configured)) {
    throw new ConfigError(`CRM_GMAIL_OAUTH_REDIRECT_URI=${configured.href} is not a loopback http URL, so crm-mail cannot receive the redirect; use --paste.`);
  }
  const redirectTemplate = configured ?? new URL('http://127.0.0.1:0/oauth2callback');

  let server: Server | undefined;
  let received: Promise<URLSearchParams> | undefined;
  let redirectUri: string;
  if (paste) {
    // Nothing listens: the browser's redirect fails and the user copies the URL from the address bar.
    redirectUri = configured?.href ?? 'http://127.0.0.1/oauth2callback';
  } else {
    const listening = await listenForRedirect(redirectTemplate, options.timeoutMs ?? 300_000);
    server = listening.server;
    received = listening.result;
    const actual = new URL(redirectTemplate.href);
    actual.port = String(listening.port);
    redirectUri = actual.href;
  }

  try {
    const client = new OAuth2Client({
      clientId: config.oauthClientId,
      clientSecret: config.oauthClientSecret,
      redirectUri,
      transporterOptions: loopbackNoProxy(config.tokenUrl),
      endpoints: {
        oauth2AuthBaseUrl: consentBaseUrl(config),
        ...(config.tokenUrl ? { oauth2TokenUrl: config.tokenUrl } : {}),
      },
    });
    const state = randomBytes(16).toString('base64url');
    const pkce = await client.generateCodeVerifierAsync();
    const url = client.generateAuthUrl({
      access_type: 'offline',
      prompt: 'consent',
      scope: [GMAIL_READONLY_SCOPE],
      login_hint: email,
      state,
      code_challenge: pkce.codeChallenge,
      code_challenge_method: CodeChallengeMethod.S256,
    });
    out.info(`Open this URL in a browser and sign in as ${email} to let crm-mail read that mailbox (read-only):\n\n  ${url}\n`);
    if (paste) out.info('After consenting, the browser is sent to a page that does not load: copy that page\'s whole URL (or just its code) and paste it here.');
    else out.info(`Waiting for the browser to come back to ${redirectUri} ...`);
    await options.openUrl?.(url);

    const redirect = paste ? parsePastedCode(await options.readPasted!(), email) : readRedirect(await received!, email);
    if (redirect.state !== null && redirect.state !== state) {
      throw new AuthError('the redirect does not belong to this consent (state mismatch); run the command again.');
    }

    let tokens;
    try {
      ({ tokens } = await client.getToken({ code: redirect.code, codeVerifier: pkce.codeVerifier, redirect_uri: redirectUri }));
    } catch (error) {
      const reason = (error as { response?: { data?: { error?: unknown } } }).response?.data?.error;
      if (reason === 'invalid_grant') throw new AuthError('the authorization code was refused (expired, or already used); run the command again.', { reason: 'invalid_grant' });
      if (reason === 'invalid_client') throw new ConfigError('Google rejected the OAuth client: check CRM_GMAIL_OAUTH_CLIENT_ID and CRM_GMAIL_OAUTH_CLIENT_SECRET.', { reason: 'invalid_client' });
      throw toCrmMailError(error, { context: 'exchanging the authorization code', keepCause: false });
    }
    if (!tokens.refresh_token) {
      throw new AuthError(
        'Google returned no refresh token. Remove crm-mail from the account\'s third-party access (myaccount.google.com/permissions) and run the command again.',
      );
    }
    if (tokens.scope && !tokens.scope.split(/\s+/).includes(GMAIL_READONLY_SCOPE) && !tokens.scope.includes('https://mail.google.com/')) {
      throw new AuthError(`the consent did not include read access to Gmail (granted: ${tokens.scope.slice(0, 200)}); tick the Gmail box on the consent page.`);
    }
    await checkConsentedMailbox(config, tokens.access_token ?? undefined, email);
    return tokens.refresh_token;
  } finally {
    server?.close();
    server?.closeAllConnections?.();
  }
}

/** One getProfile with the fresh access token: the consent must be for `email`, not whoever was signed in. */
async function checkConsentedMailbox(config: Config, accessToken: string | undefined, email: string): Promise<void> {
  if (!accessToken) return;
  const client = new OAuth2Client();
  client.setCredentials({ access_token: accessToken });
  const rootUrl = config.apiRoot ? new URL(config.apiRoot).origin + '/' : undefined;
  const api = gmail({ version: 'v1', auth: client, rootUrl, retry: false, timeout: 30_000, ...(loopbackNoProxy(rootUrl) ?? {}) });
  let address: string | undefined;
  try {
    address = (await api.users.getProfile({ userId: 'me' })).data.emailAddress ?? undefined;
  } catch (error) {
    throw toCrmMailError(error, { context: `checking the consented mailbox for ${email}` });
  }
  if (address && address.toLowerCase() !== email) {
    throw new AuthError(`the consent was given by ${address}, not ${email}: sign in as ${email} in the browser and run the command again.`);
  }
}

/**
 * Seals the refresh token (AES-256-GCM, bound to the account's email) and stores it on the account.
 * The account must exist already: enrolment creates it.
 */
export function storeRefreshToken(db: Db, email: string, token: string, key: Buffer): void {
  const address = mailboxKey(email);
  if (!findOAuthAccount(db, address)) {
    throw new UsageError(`no enrolled account ${address}: enroll first (crm-mail enroll ${address} --auth oauth), then run crm-mail auth oauth ${address}.`);
  }
  if (!saveSealedRefreshToken(db, address, seal(token, key, address))) {
    throw new UsageError(`no enrolled account ${address}: enroll first.`);
  }
}
