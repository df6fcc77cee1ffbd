/**
 * The emulator's OAuth side: service accounts with domain-wide delegation (JWT bearer grant,
 * RS256 verified against the registered public key), OAuth clients with refresh tokens and an
 * auto-consenting authorization endpoint, and the access tokens the API checks.
 * Token lifetimes run on the real clock (google-auth-library checks expiry with the real clock),
 * not on the emulator's mail clock that advanceTime moves.
 */
import { createPublicKey, randomBytes, verify, type KeyObject } from 'node:crypto';

export const GOOGLE_TOKEN_AUD = 'https://oauth2.googleapis.com/token';
export const GMAIL_SCOPES = {
  readonly: 'https://www.googleapis.com/auth/gmail.readonly',
  metadata: 'https://www.googleapis.com/auth/gmail.metadata',
  modify: 'https://www.googleapis.com/auth/gmail.modify',
  full: 'https://mail.google.com/',
};
const DEFAULT_ALLOWED_SCOPES = new Set(Object.values(GMAIL_SCOPES));

export interface AccessGrant {
  /** The mailbox user the token acts for; null for a service account without subject. */
  user: string | null;
  scopes: Set<string>;
  expiresAt: number;
  clientId: string;
}

export interface TokenAnswer {
  status: number;
  body: Record<string, unknown>;
}

interface ServiceAccount {
  clientEmail: string;
  clientId: string;
  publicKey: KeyObject;
}

interface Delegation {
  all: boolean;
  perUser: Map<string, boolean>;
  scopes: Set<string>;
}

const tokenError = (status: number, error: string, description: string): TokenAnswer => ({ status, body: { error, error_description: description } });

export class AuthRegistry {
  private readonly serviceAccounts = new Map<string, ServiceAccount>();
  private readonly delegations = new Map<string, Delegation>();
  private readonly oauthClients = new Map<string, string>();
  private readonly refreshTokens = new Map<string, { clientId: string; user: string; scopes: Set<string> }>();
  private readonly authCodes = new Map<string, { clientId: string; user: string; scopes: Set<string>; redirectUri: string; expiresAt: number }>();
  private readonly accessTokens = new Map<string, AccessGrant>();

  constructor(
    private readonly isUser: (email: string) => boolean,
    private readonly lifetimeSec: number,
    private readonly realNow: () => number = Date.now,
  ) {}

  registerServiceAccount(clientEmail: string, clientId: string, publicKeyPem: string): void {
    this.serviceAccounts.set(clientEmail, { clientEmail, clientId, publicKey: createPublicKey(publicKeyPem) });
  }

  setDelegation(clientId: string, granted: boolean, users?: string[], scopes?: string[]): void {
    let delegation = this.delegations.get(clientId);
    if (!delegation) {
      delegation = { all: false, perUser: new Map(), scopes: new Set(DEFAULT_ALLOWED_SCOPES) };
      this.delegations.set(clientId, delegation);
    }
    if (scopes) delegation.scopes = new Set(scopes);
    if (users) for (const user of users) delegation.perUser.set(user.toLowerCase(), granted);
    else {
      delegation.all = granted;
      delegation.perUser.clear();
    }
  }

  registerOAuthClient(clientId: string, clientSecret: string): void {
    this.oauthClients.set(clientId, clientSecret);
  }

  issueRefreshToken(clientId: string, user: string, scopes: string[] = [GMAIL_SCOPES.readonly]): string {
    const token = '1//' + randomBytes(24).toString('base64url');
    this.refreshTokens.set(token, { clientId, user: user.toLowerCase(), scopes: new Set(scopes) });
    return token;
  }

  revokeToken(token: string): boolean {
    return this.refreshTokens.delete(token) || this.accessTokens.delete(token);
  }

  /** Looks up a bearer token; undefined when unknown or expired. */
  grantFor(token: string): AccessGrant | undefined {
    const grant = this.accessTokens.get(token);
    if (!grant) return undefined;
    if (grant.expiresAt <= this.realNow()) {
      this.accessTokens.delete(token);
      return undefined;
    }
    return grant;
  }

  /** The auto-consent step of the authorization-code flow: a code for `user`. */
  authorize(clientId: string, redirectUri: string, user: string, scope: string): { code: string } | { error: string } {
    if (!this.oauthClients.has(clientId)) return { error: 'invalid_client' };
    if (!this.isUser(user)) return { error: 'access_denied' };
    const code = '4/' + randomBytes(18).toString('base64url');
    const scopes = new Set(scope.split(/\s+/).filter(Boolean));
    this.authCodes.set(code, { clientId, user: user.toLowerCase(), scopes: scopes.size ? scopes : new Set([GMAIL_SCOPES.readonly]), redirectUri, expiresAt: this.realNow() + 600_000 });
    return { code };
  }

  /** POST /token with a form body. */
  token(form: URLSearchParams): TokenAnswer {
    const grantType = form.get('grant_type');
    if (grantType === 'urn:ietf:params:oauth:grant-type:jwt-bearer') return this.jwtGrant(form.get('assertion') ?? '');
    if (grantType === 'refresh_token') return this.refreshGrant(form);
    if (grantType === 'authorization_code') return this.codeGrant(form);
    return tokenError(400, 'unsupported_grant_type', `Invalid grant_type: ${grantType ?? ''}`);
  }

  private mint(user: string | null, scopes: Set<string>, clientId: string): { access_token: string; expires_in: number; token_type: string; scope: string } {
    const token = 'ya29.' + randomBytes(30).toString('base64url');
    this.accessTokens.set(token, { user, scopes, clientId, expiresAt: this.realNow() + this.lifetimeSec * 1000 });
    return { access_token: token, expires_in: this.lifetimeSec, token_type: 'Bearer', scope: [...scopes].join(' ') };
  }

  private jwtGrant(assertion: string): TokenAnswer {
    const pieces = assertion.split('.');
    if (pieces.length !== 3) return tokenError(400, 'invalid_grant', 'Invalid JWT: malformed assertion.');
    const [headB64, claimsB64, sigB64] = pieces as [string, string, string];
    let header: Record<string, unknown>;
    let claims: Record<string, unknown>;
    try {
      header = JSON.parse(Buffer.from(headB64, 'base64url').toString('utf8'));
      claims = JSON.parse(Buffer.from(claimsB64, 'base64url').toString('utf8'));
    } catch {
      return tokenError(400, 'invalid_grant', 'Invalid JWT: malformed assertion.');
    }
    if (header.alg !== 'RS256') return tokenError(400, 'invalid_grant', 'Invalid JWT: unsupported algorithm.');
    const account = this.serviceAccounts.get(String(claims.iss ?? ''));
    if (!account) return tokenError(401, 'invalid_client', 'The OAuth client was not found.');
    const signed = verify('RSA-SHA256', Buffer.from(`${headB64}.${claimsB64}`), account.publicKey, Buffer.from(sigB64, 'base64url'));
    if (!signed) return tokenError(400, 'invalid_grant', 'Invalid JWT Signature.');
    if (claims.aud !== GOOGLE_TOKEN_AUD) return tokenError(400, 'invalid_grant', 'Invalid JWT: Failed audience check.');
    const iat = Number(claims.iat);
    const exp = Number(claims.exp);
    const nowSec = this.realNow() / 1000;
    if (!Number.isFinite(iat) || !Number.isFinite(exp) || exp - iat > 3600 || exp <= iat || iat - 300 > nowSec || exp < nowSec) {
      return tokenError(400, 'invalid_grant', 'Invalid JWT: Token must be a short-lived token (60 minutes) and in a reasonable timeframe. Check your iat and exp values in the JWT claim.');
    }
    const scopes = new Set(String(claims.scope ?? '').split(/\s+/).filter(Boolean));
    if (scopes.size === 0) return tokenError(400, 'invalid_scope', 'Empty or missing scope not allowed.');
    const sub = typeof claims.sub === 'string' ? claims.sub.toLowerCase() : null;
    if (sub === null) return { status: 200, body: this.mint(null, scopes, account.clientId) };
    if (!this.isUser(sub)) return tokenError(400, 'invalid_grant', 'Invalid email or User ID');
    const delegation = this.delegations.get(account.clientId);
    const granted = delegation ? (delegation.perUser.get(sub) ?? delegation.all) : false;
    const scopesAllowed = delegation ? [...scopes].every((s) => delegation.scopes.has(s)) : false;
    if (!granted || !scopesAllowed) {
      return tokenError(401, 'unauthorized_client', 'Client is unauthorized to retrieve access tokens using this method, or client not authorized for any of the scopes requested.');
    }
    return { status: 200, body: this.mint(sub, scopes, account.clientId) };
  }

  private checkClient(form: URLSearchParams): TokenAnswer | null {
    const clientId = form.get('client_id') ?? '';
    const secret = this.oauthClients.get(clientId);
    if (secret === undefined || secret !== form.get('client_secret')) return tokenError(401, 'invalid_client', 'The OAuth client was not found.');
    return null;
  }

  private refreshGrant(form: URLSearchParams): TokenAnswer {
    const bad = this.checkClient(form);
    if (bad) return bad;
    const entry = this.refreshTokens.get(form.get('refresh_token') ?? '');
    if (!entry || entry.clientId !== form.get('client_id')) return tokenError(400, 'invalid_grant', 'Token has been expired or revoked.');
    if (!this.isUser(entry.user)) return tokenError(400, 'invalid_grant', 'Invalid email or User ID');
    return { status: 200, body: this.mint(entry.user, entry.scopes, entry.clientId) };
  }

  private codeGrant(form: URLSearchParams): TokenAnswer {
    const bad = this.checkClient(form);
    if (bad) return bad;
    const code = form.get('code') ?? '';
    const entry = this.authCodes.get(code);
    this.authCodes.delete(code);
    if (!entry || entry.clientId !== form.get('client_id') || entry.expiresAt < this.realNow()) return tokenError(400, 'invalid_grant', 'Malformed auth code.');
    if (form.get('redirect_uri') !== null && form.get('redirect_uri') !== entry.redirectUri) return tokenError(400, 'redirect_uri_mismatch', 'Bad Request');
    const refresh = this.issueRefreshToken(entry.clientId, entry.user, [...entry.scopes]);
    return { status: 200, body: { ...this.mint(entry.user, entry.scopes, entry.clientId), refresh_token: refresh } };
  }
}
