/**
 * Credentials for Gmail, one interface and two providers:
 * - domain-wide delegation (the default): a service-account key and one JWT client per user
 *   (subject), scope gmail.readonly only;
 * - OAuth (the fallback): a refresh token per user, stored sealed in email_accounts.
 *
 * Both cache access tokens per user (the library keeps them until 5 minutes before expiry), count
 * token requests, honour CRM_GMAIL_TOKEN_URL, and turn token-endpoint refusals into errors an admin
 * or partner can act on. No token or key ever goes into a message.
 *
 * Library trap (google-auth-library 10.x): the service-account JWT client has no token-URL
 * option (the URL is a module constant), so the token request is redirected by a request
 * interceptor on the client's own transporter. The same interceptor switches off the library's
 * own retries of the token POST: src/gmail/retry.ts owns retrying.
 */
import { statSync, readFileSync } from 'node:fs';
import { JWT, OAuth2Client } from 'google-auth-library';
import type { Config } from '../config.js';
import { AuthError, ConfigError, CREDENTIAL_REASON, CrmMailError, TransientError, readGoogleError } from '../errors.js';
import type { Db } from '../db/open.js';
import { markNeedsConsent, readSealedRefreshToken } from '../db/oauthTokens.js';
import { open } from './secretBox.js';
import { markTokenEndpointError, toCrmMailError } from './retry.js';
import { mailboxKey } from '../mail/addresses.js';

export const GMAIL_READONLY_SCOPE = 'https://www.googleapis.com/auth/gmail.readonly';
/** Where google-auth-library sends token requests unless told otherwise. */
export const GOOGLE_TOKEN_URL = 'https://oauth2.googleapis.com/token';
export const GOOGLE_AUTH_URL = 'https://accounts.google.com/o/oauth2/v2/auth';

/** An auth client accepted by `gmail({ auth })`; both providers hand out OAuth2Client instances (JWT extends it). */
export type GmailAuthClient = OAuth2Client;

export interface CredentialProvider {
  readonly method: 'dwd' | 'oauth';
  /** The cached auth client for a user, with a valid access token already obtained. */
  authClient(user: string): Promise<GmailAuthClient>;
  accessToken(user: string): Promise<string>;
  /** Forget the user's access token (after a 401): the next call fetches a new one. */
  invalidate(user: string): void;
  /** Token-endpoint requests made so far (all users). */
  readonly tokenRequests: number;
}

export interface ServiceAccountKey {
  clientEmail: string;
  privateKey: string;
  /** The numeric client id the admin authorizes for domain-wide delegation. */
  clientId: string;
}

/** Refuses a key file that group or others can read, as ssh does for private keys. */
export function checkKeyFileMode(path: string): void {
  let mode: number;
  try {
    mode = statSync(path).mode;
  } catch (error) {
    throw new AuthError(`cannot read the service-account key file ${path} (CRM_GMAIL_SA_KEY_PATH): ${(error as NodeJS.ErrnoException).code ?? 'error'}.`, {
      reason: CREDENTIAL_REASON.keyFileUnreadable,
    });
  }
  if ((mode & 0o077) !== 0) {
    throw new AuthError(
      `the service-account key file ${path} has mode ${(mode & 0o777).toString(8)}, readable by group or others; ` +
        `it holds a private key. Run: chmod 600 ${path}`,
      { reason: CREDENTIAL_REASON.keyFileMode },
    );
  }
}

export function readServiceAccountKey(path: string): ServiceAccountKey {
  checkKeyFileMode(path);
  const malformed = { reason: CREDENTIAL_REASON.keyFileMalformed };
  let json: Record<string, unknown>;
  try {
    json = JSON.parse(readFileSync(path, 'utf8')) as Record<string, unknown>;
  } catch (error) {
    // Never the parser's message: it quotes the file's first characters, which may be key material.
    const code = (error as NodeJS.ErrnoException).code;
    if (code) throw new AuthError(`cannot read the service-account key file ${path} (CRM_GMAIL_SA_KEY_PATH): ${code}.`, { reason: CREDENTIAL_REASON.keyFileUnreadable });
    throw new AuthError(`the service-account key file ${path} is not valid JSON; download a new JSON key for the service account.`, malformed);
  }
  if (json === null || typeof json !== 'object' || Array.isArray(json)) {
    throw new AuthError(`the service-account key file ${path} is not a JSON object; download a new JSON key for the service account.`, malformed);
  }
  const clientEmail = json.client_email;
  const privateKey = json.private_key;
  const clientId = json.client_id;
  if (json.type !== undefined && json.type !== 'service_account') {
    // The value itself is not quoted: whatever the file holds stays out of messages.
    throw new AuthError(`${path} is not a service-account key (its "type" is not "service_account").`, malformed);
  }
  if (typeof clientEmail !== 'string' || typeof privateKey !== 'string' || !privateKey.includes('PRIVATE KEY')) {
    throw new AuthError(`${path} lacks client_email or private_key: it is not a service-account JSON key.`, malformed);
  }
  return { clientEmail, privateKey, clientId: typeof clientId === 'string' || typeof clientId === 'number' ? String(clientId) : '(unknown: no client_id in the key file)' };
}

function sameEndpoint(url: URL | string, target: string): boolean {
  try {
    const a = new URL(String(url));
    const b = new URL(target);
    return a.origin === b.origin && a.pathname === b.pathname;
  } catch {
    return false;
  }
}

interface TokenFailure {
  status?: number;
  error?: string;
  description?: string;
}

function readTokenFailure(error: unknown): TokenFailure {
  const response = (error as { response?: { status?: number; data?: unknown } }).response;
  if (!response) return {};
  const fields = readGoogleError(response.data);
  return { status: response.status, error: fields.reason, description: fields.message?.slice(0, 200) };
}

/** What the token endpoint's refusal means, for whom, in words an admin or partner can act on. */
export type TokenErrorExplainer = (failure: TokenFailure, user: string) => CrmMailError;

function tokenEndpointError(error: unknown, user: string, explain: TokenErrorExplainer): CrmMailError {
  const failure = readTokenFailure(error);
  let mapped: CrmMailError;
  if (failure.status === undefined) {
    const network = toCrmMailError(error, { context: `token request for ${user}`, keepCause: false });
    mapped = network.kind === 'transient' ? network : new TransientError(`token request for ${user}: the token endpoint could not be reached; will retry.`);
  } else if (failure.status === 429 || failure.status >= 500) {
    mapped = new TransientError(`token request for ${user}: the token endpoint is temporarily unavailable (HTTP ${failure.status}); will retry.`, {
      status: failure.status,
    });
  } else {
    mapped = explain(failure, user);
  }
  return markTokenEndpointError(mapped);
}

interface InstrumentOptions {
  user: string;
  /** Where token requests must go (undefined: Google's default). */
  tokenUrl?: string;
  onTokenRequest(): void;
  explain: TokenErrorExplainer;
}

/** Points the client's token requests at tokenUrl, counts them, and maps their failures. */
function instrument(client: OAuth2Client, options: InstrumentOptions): void {
  const target = options.tokenUrl ?? GOOGLE_TOKEN_URL;
  const isTokenRequest = (url: unknown): boolean =>
    url !== undefined && (sameEndpoint(url as string, GOOGLE_TOKEN_URL) || sameEndpoint(url as string, target));
  client.transporter.interceptors.request.add({
    resolved: async (config) => {
      if (isTokenRequest(config.url)) {
        config.url = new URL(target);
        // gaxios picked a proxy agent (HTTPS_PROXY) for Google's URL; a loopback endpoint never uses one.
        if (isLoopbackUrl(config.url)) delete config.agent;
        // Our retry policy decides; a library retry on top would multiply attempts.
        config.retryConfig = { ...(config.retryConfig ?? {}), retry: 0, noResponseRetries: 0 };
        config.retry = false;
        options.onTokenRequest();
      }
      return config;
    },
  });
  client.transporter.interceptors.response.add({
    rejected: async (error: unknown) => {
      const url = (error as { config?: { url?: unknown } }).config?.url;
      if (isTokenRequest(url)) throw tokenEndpointError(error, options.user, options.explain);
      throw error;
    },
  });
}

/** 127.0.0.1, localhost or ::1: the emulator or a local staging endpoint. */
export function isLoopbackUrl(url: URL | string): boolean {
  try {
    const host = new URL(String(url)).hostname;
    return host === '127.0.0.1' || host === 'localhost' || host === '[::1]' || host === '::1';
  } catch {
    return false;
  }
}

/** The client's access token, fetched if missing or expiring; failures as typed errors. */
async function currentToken(client: GmailAuthClient, user: string): Promise<string> {
  let token: string | null | undefined;
  try {
    ({ token } = await client.getAccessToken());
  } catch (error) {
    if (error instanceof CrmMailError) throw error;
    // Not an HTTP answer (those are mapped by the interceptor): e.g. a key that cannot sign.
    throw new AuthError(`cannot obtain a Gmail access token for ${user}: ${String((error as Error).message ?? error).slice(0, 200)}`);
  }
  if (!token) throw new AuthError(`no access token was issued for ${user}.`);
  return token;
}

/** Shared by both providers: one client per user, its first token fetched once even under concurrency. */
abstract class CachingProvider implements CredentialProvider {
  abstract readonly method: 'dwd' | 'oauth';
  tokenRequests = 0;
  private readonly clients = new Map<string, Promise<GmailAuthClient>>();
  /** The same clients once built, so invalidate can reset one synchronously. */
  private readonly built = new Map<string, GmailAuthClient>();
  private readonly ready = new Map<string, Promise<string>>();

  protected abstract createClient(user: string): Promise<GmailAuthClient>;
  protected abstract reset(client: GmailAuthClient, user: string): void;
  /** A refused token, explained in this credential method's own terms. */
  protected abstract explain(failure: TokenFailure, user: string): CrmMailError;

  /** Sends the client's token requests to `tokenUrl`, counts them and explains refusals. */
  protected instrumented(client: GmailAuthClient, user: string, tokenUrl: string | undefined): GmailAuthClient {
    instrument(client, {
      user,
      tokenUrl,
      onTokenRequest: () => this.tokenRequests++,
      explain: (failure, who) => this.explain(failure, who),
    });
    return client;
  }

  private client(user: string): Promise<GmailAuthClient> {
    const key = mailboxKey(user);
    let client = this.clients.get(key);
    if (!client) {
      client = this.createClient(key).then((created) => {
        this.built.set(key, created);
        return created;
      });
      this.clients.set(key, client);
      // A client that could not even be built (no stored consent) is not cached.
      client.catch(() => this.clients.delete(key));
    }
    return client;
  }

  async accessToken(user: string): Promise<string> {
    const key = mailboxKey(user);
    let pending = this.ready.get(key);
    if (!pending) {
      pending = this.client(key).then((client) => currentToken(client, key));
      this.ready.set(key, pending);
      // Failures are not cached; a later call tries again. Successes are re-checked below.
      pending.catch(() => this.ready.delete(key));
    }
    await pending;
    // The library refreshes an expiring token itself; ask it for the current one.
    return currentToken(await this.client(key), key);
  }

  async authClient(user: string): Promise<GmailAuthClient> {
    const key = mailboxKey(user);
    await this.accessToken(key);
    return this.client(key);
  }

  invalidate(user: string): void {
    const key = mailboxKey(user);
    this.ready.delete(key);
    const client = this.built.get(key);
    if (client) this.reset(client, key);
  }
}

export interface DwdOptions {
  keyFile: string;
  tokenUrl?: string;
}

class DwdCredentials extends CachingProvider {
  readonly method = 'dwd' as const;
  private readonly key: ServiceAccountKey;

  constructor(private readonly options: DwdOptions) {
    super();
    this.key = readServiceAccountKey(options.keyFile);
  }

  protected async createClient(user: string): Promise<GmailAuthClient> {
    const client = new JWT({ email: this.key.clientEmail, key: this.key.privateKey, subject: user, scopes: [GMAIL_READONLY_SCOPE] });
    return this.instrumented(client, user, this.options.tokenUrl);
  }

  protected reset(client: GmailAuthClient): void {
    // The JWT client's own "no token yet" state: the next request fetches a fresh token.
    client.credentials = { refresh_token: 'jwt-placeholder', expiry_date: 1 };
  }

  protected explain(failure: TokenFailure, user: string): CrmMailError {
    const detail = failure.description ? ` (${failure.error}: ${failure.description})` : failure.error ? ` (${failure.error})` : '';
    const options = { status: failure.status, reason: failure.error };
    if (failure.error === 'unauthorized_client' || failure.error === 'access_denied') {
      return new AuthError(
        `Google refused a token for ${user}: the service account ${this.key.clientEmail} is not authorized for domain-wide delegation${detail}. ` +
          `A Workspace super admin must open the Admin console > Security > Access and data control > API controls > ` +
          `Manage Domain Wide Delegation, and add client ID ${this.key.clientId} with the OAuth scope ${GMAIL_READONLY_SCOPE}. ` +
          'A new grant can take a while (up to 24 hours) to take effect.',
        options,
      );
    }
    if (failure.error === 'invalid_grant') {
      return new AuthError(
        `Google refused a token for ${user}${detail}: check that ${user} is an active user of the Workspace domain, ` +
          "and that this machine's clock is correct (a skewed clock makes the signed request invalid).",
        options,
      );
    }
    if (failure.error === 'invalid_client') {
      return new AuthError(
        `Google rejected the service-account key for ${this.key.clientEmail}${detail}: the key may have been deleted or disabled. ` +
          'Create a new JSON key and point CRM_GMAIL_SA_KEY_PATH at it (chmod 600).',
        options,
      );
    }
    return new AuthError(`Google refused a token for ${user}${detail || ` (HTTP ${failure.status})`}.`, options);
  }
}

export function createDwdCredentials(opts: DwdOptions): CredentialProvider {
  return new DwdCredentials(opts);
}

export interface OAuthOptions {
  clientId: string;
  clientSecret: string;
  tokenUrl?: string;
  refreshTokenFor(user: string): Promise<string> | string;
  /** Called when the refresh token was revoked or expired (mark the account needs_consent). */
  onRevoked?(user: string): void;
}

class OAuthCredentials extends CachingProvider {
  readonly method = 'oauth' as const;
  private readonly refreshTokens = new Map<string, string>();

  constructor(private readonly options: OAuthOptions) {
    super();
  }

  protected async createClient(user: string): Promise<GmailAuthClient> {
    const refreshToken = await this.options.refreshTokenFor(user);
    if (!refreshToken) throw new AuthError(`no Gmail consent is stored for ${user}: run \`crm-mail auth oauth ${user}\`.`, { reason: CREDENTIAL_REASON.noConsent });
    this.refreshTokens.set(user, refreshToken);
    const client = new OAuth2Client({
      clientId: this.options.clientId,
      clientSecret: this.options.clientSecret,
      endpoints: this.options.tokenUrl ? { oauth2TokenUrl: this.options.tokenUrl } : undefined,
    });
    client.setCredentials({ refresh_token: refreshToken });
    return this.instrumented(client, user, this.options.tokenUrl);
  }

  protected reset(client: GmailAuthClient, user: string): void {
    const refreshToken = this.refreshTokens.get(user);
    if (refreshToken) client.setCredentials({ refresh_token: refreshToken });
  }

  protected explain(failure: TokenFailure, user: string): CrmMailError {
    const options = { status: failure.status, reason: failure.error };
    if (failure.error === 'invalid_grant') {
      try {
        this.options.onRevoked?.(user);
      } catch {
        // Marking the account is best effort; the error below still tells the partner what to do.
      }
      return new AuthError(
        `the Gmail consent for ${user} was revoked or has expired; the account is marked needs_consent. ` +
          `Run \`crm-mail auth oauth ${user}\` to consent again.`,
        options,
      );
    }
    if (failure.error === 'invalid_client' || failure.error === 'unauthorized_client') {
      return new ConfigError(
        `Google rejected the OAuth client (${failure.error}): check CRM_GMAIL_OAUTH_CLIENT_ID and CRM_GMAIL_OAUTH_CLIENT_SECRET.`,
        options,
      );
    }
    const detail = failure.description ? `${failure.error}: ${failure.description}` : (failure.error ?? `HTTP ${failure.status}`);
    return new AuthError(`Google refused a token for ${user} (${detail}).`, options);
  }
}

export function createOAuthCredentials(opts: OAuthOptions): CredentialProvider {
  return new OAuthCredentials(opts);
}

/** The provider the configuration asks for (CRM_GMAIL_AUTH_METHOD), wired to the database for OAuth tokens. */
export function credentialsFromConfig(config: Config, deps: { db: Db }): CredentialProvider {
  if (config.authMethod === 'dwd') {
    if (!config.saKeyPath) throw new ConfigError('CRM_GMAIL_SA_KEY_PATH is not set: domain-wide delegation needs the service-account key file (JSON).');
    return createDwdCredentials({ keyFile: config.saKeyPath, tokenUrl: config.tokenUrl });
  }
  if (!config.oauthClientId || !config.oauthClientSecret) {
    throw new ConfigError('the oauth method needs CRM_GMAIL_OAUTH_CLIENT_ID and CRM_GMAIL_OAUTH_CLIENT_SECRET.');
  }
  const key = config.secretKey;
  if (!key) throw new ConfigError('CRM_GMAIL_SECRET_KEY is not set: stored refresh tokens cannot be opened without it.');
  return createOAuthCredentials({
    clientId: config.oauthClientId,
    clientSecret: config.oauthClientSecret,
    tokenUrl: config.tokenUrl,
    refreshTokenFor: (user) => {
      const sealed = readSealedRefreshToken(deps.db, user);
      if (!sealed) throw new AuthError(`no Gmail consent is stored for ${user}: run \`crm-mail auth oauth ${user}\`.`, { reason: CREDENTIAL_REASON.noConsent });
      return open(sealed, key, mailboxKey(user));
    },
    onRevoked: (user) => markNeedsConsent(deps.db, user, 'the OAuth refresh token was revoked or expired; run crm-mail auth oauth to consent again'),
  });
}
