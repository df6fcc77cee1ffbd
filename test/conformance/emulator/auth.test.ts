import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { generateKeyPairSync } from 'node:crypto';
import { statSync, readFileSync } from 'node:fs';
import { gmail, auth } from '@googleapis/gmail';
import { startEmulator, generateScenario, SCENARIOS, type Emulator } from '../../../src/emulator/index.js';
import { failure, gmailFor, READONLY, tokenFor } from '../../emulator/helpers.js';
import { schemaErrors } from '../schema.js';

let emu: Emulator;
let alice: string;
let bob: string;

beforeAll(async () => {
  emu = await startEmulator({ scenario: generateScenario({ ...SCENARIOS.small }) });
  [alice, bob] = emu.users as [string, string];
});
afterAll(async () => emu?.stop());

describe('service-account JWT (domain-wide delegation)', () => {
  it('writes a Google-style key file, mode 600, naming the emulator token URL', () => {
    const key = JSON.parse(readFileSync(emu.serviceAccountKeyFile, 'utf8'));
    expect(key).toMatchObject({ type: 'service_account', client_email: emu.serviceAccount.clientEmail, client_id: emu.serviceAccount.clientId, token_uri: emu.tokenUrl });
    expect(key.private_key).toContain('BEGIN PRIVATE KEY');
    expect(statSync(emu.serviceAccountKeyFile).mode & 0o777).toBe(0o600);
  });

  it('a JWT with subject gets a token and lists that mailbox', async () => {
    const client = gmailFor(emu, alice);
    const profile = await client.users.getProfile({ userId: 'me' });
    expect(profile.data.emailAddress).toBe(alice);
    expect(schemaErrors(profile.data, 'Profile', ['emailAddress', 'historyId', 'messagesTotal', 'threadsTotal'])).toEqual([]);
    const list = await client.users.messages.list({ userId: alice, maxResults: 10 });
    expect(list.data.messages).toHaveLength(10);
    expect(schemaErrors(list.data, 'ListMessagesResponse')).toEqual([]);
  });

  it('refuses a JWT signed with another key', async () => {
    const { privateKey } = generateKeyPairSync('rsa', { modulusLength: 2048, privateKeyEncoding: { type: 'pkcs8', format: 'pem' }, publicKeyEncoding: { type: 'spki', format: 'pem' } });
    const error = await failure(gmailFor(emu, alice, { privateKey }).users.getProfile({ userId: 'me' }));
    expect(error.status).toBe(400);
    expect(error.message).toContain('invalid_grant');
    expect(error.message).toContain('Invalid JWT Signature');
  });

  it('answers invalid_grant for a user that does not exist', async () => {
    const error = await failure(gmailFor(emu, 'nobody@northwind.vc').users.getProfile({ userId: 'me' }));
    expect(error.status).toBe(400);
    expect(error.message).toBe('invalid_grant: Invalid email or User ID');
  });

  it('answers unauthorized_client when delegation is withdrawn for a user, and recovers when granted', async () => {
    emu.setDelegation(emu.serviceAccount.clientId, false, [bob]);
    const error = await failure(gmailFor(emu, bob).users.getProfile({ userId: 'me' }));
    expect(error.status).toBe(401);
    expect(error.message).toMatch(/^unauthorized_client: Client is unauthorized/);
    expect((await gmailFor(emu, alice).users.getProfile({ userId: 'me' })).data.emailAddress).toBe(alice);
    emu.setDelegation(emu.serviceAccount.clientId, true, [bob]);
    expect((await gmailFor(emu, bob).users.getProfile({ userId: 'me' })).data.emailAddress).toBe(bob);
  });

  it('answers unauthorized_client for a scope outside the delegation grant', async () => {
    const error = await failure(gmailFor(emu, alice, { scopes: ['https://www.googleapis.com/auth/drive'] }).users.getProfile({ userId: 'me' }));
    expect(error.status).toBe(401);
    expect(error.message).toContain('unauthorized_client');
  });

  it("refuses another user's mailbox with a token for alice (403)", async () => {
    const error = await failure(gmailFor(emu, alice).users.messages.list({ userId: bob }));
    expect(error.status).toBe(403);
    expect(error.data.error.errors[0].reason).toBe('forbidden');
    expect(error.message).toBe(`Delegation denied for ${bob}`);
  });

  it('answers 401 for a missing or unknown bearer token with Google envelopes', async () => {
    const none = await fetch(`${emu.rootUrl}gmail/v1/users/me/profile`);
    expect(none.status).toBe(401);
    expect(none.headers.get('content-type')).toBe('application/json; charset=UTF-8');
    expect(((await none.json()) as any).error.errors[0].reason).toBe('required');
    const bad = await fetch(`${emu.rootUrl}gmail/v1/users/me/profile`, { headers: { Authorization: 'Bearer ya29.nope' } });
    expect(bad.status).toBe(401);
    const body = (await bad.json()) as any;
    expect(body.error).toMatchObject({ code: 401, status: 'UNAUTHENTICATED' });
    expect(body.error.errors[0]).toMatchObject({ reason: 'authError', message: 'Invalid Credentials' });
  });

  it('a service-account token without subject is refused by the API (400 failedPrecondition)', async () => {
    const error = await failure(gmailFor(emu, alice, { noSubject: true }).users.getProfile({ userId: 'me' }));
    expect(error.status).toBe(400);
    expect(error.data.error.errors[0].reason).toBe('failedPrecondition');
  });

  it('a metadata-scope token cannot search or read full content', async () => {
    const client = gmailFor(emu, alice, { scopes: ['https://www.googleapis.com/auth/gmail.metadata'], retry: false });
    const search = await failure(client.users.messages.list({ userId: 'me', q: 'from:x' }));
    expect(search.status).toBe(403);
    expect(search.message).toBe("Metadata scope does not support 'q' parameter");
    const id = emu.messageIds(alice)[0] as string;
    expect((await failure(client.users.messages.get({ userId: 'me', id, format: 'raw' }))).status).toBe(403);
    expect((await client.users.messages.get({ userId: 'me', id, format: 'metadata' })).data.id).toBe(id);
  });

  it('token endpoint faults: a 503 is retried by google-auth-library and spent after one answer', async () => {
    emu.injectFault({ method: 'token', kind: '503', times: 1 });
    expect((await gmailFor(emu, alice).users.getProfile({ userId: 'me' })).data.emailAddress).toBe(alice);
    const direct = await fetch(emu.tokenUrl, { method: 'POST', body: new URLSearchParams({ grant_type: 'nonsense' }) });
    expect(direct.status).toBe(400); // the 503 was spent on the first attempt
    expect(((await direct.json()) as any).error).toBe('unsupported_grant_type');
  });

  it('expired tokens are refused (lifetime on the real clock)', async () => {
    const short = await startEmulator({ mailboxes: { 'x@northwind.vc': [] }, tokenLifetimeSec: 1 });
    try {
      const token = await tokenFor(short, 'x@northwind.vc');
      const ok = await fetch(`${short.rootUrl}gmail/v1/users/me/profile`, { headers: { Authorization: `Bearer ${token}` } });
      expect(ok.status).toBe(200);
      await new Promise((r) => setTimeout(r, 1100));
      const late = await fetch(`${short.rootUrl}gmail/v1/users/me/profile`, { headers: { Authorization: `Bearer ${token}` } });
      expect(late.status).toBe(401);
    } finally {
      await short.stop();
    }
  });
});

describe('OAuth clients', () => {
  it('refresh_token grant through OAuth2Client, refused once revoked', async () => {
    emu.registerOAuthClient('client-1.apps.googleusercontent.com', 's3cret');
    const refresh = emu.issueRefreshToken('client-1.apps.googleusercontent.com', bob);
    const oauth = new auth.OAuth2({ clientId: 'client-1.apps.googleusercontent.com', clientSecret: 's3cret', endpoints: { oauth2TokenUrl: emu.tokenUrl } });
    oauth.setCredentials({ refresh_token: refresh });
    const client = gmail({ version: 'v1', auth: oauth, rootUrl: emu.rootUrl });
    expect((await client.users.getProfile({ userId: 'me' })).data.emailAddress).toBe(bob);

    emu.revokeRefreshToken(refresh);
    const again = new auth.OAuth2({ clientId: 'client-1.apps.googleusercontent.com', clientSecret: 's3cret', endpoints: { oauth2TokenUrl: emu.tokenUrl } });
    again.setCredentials({ refresh_token: refresh });
    const error = await failure(gmail({ version: 'v1', auth: again, rootUrl: emu.rootUrl }).users.getProfile({ userId: 'me' }));
    expect(error.message).toContain('invalid_grant');
  });

  it('refuses a wrong client secret', async () => {
    emu.registerOAuthClient('client-2', 'right');
    const refresh = emu.issueRefreshToken('client-2', bob);
    const oauth = new auth.OAuth2({ clientId: 'client-2', clientSecret: 'wrong', endpoints: { oauth2TokenUrl: emu.tokenUrl } });
    oauth.setCredentials({ refresh_token: refresh });
    const error = await failure(gmail({ version: 'v1', auth: oauth, rootUrl: emu.rootUrl }).users.getProfile({ userId: 'me' }));
    expect(error.message).toContain('invalid_client');
  });

  it('consent endpoint redirects with a code that the authorization_code grant exchanges', async () => {
    emu.registerOAuthClient('client-3', 'pw');
    const redirect = 'http://127.0.0.1:9/callback';
    const url = new URL('o/oauth2/v2/auth', emu.rootUrl);
    url.search = new URLSearchParams({ client_id: 'client-3', redirect_uri: redirect, state: 'st-42', scope: READONLY, login_hint: alice, response_type: 'code', access_type: 'offline' }).toString();
    const answer = await fetch(url, { redirect: 'manual' });
    expect(answer.status).toBe(302);
    const location = new URL(answer.headers.get('location') as string);
    expect(location.origin + location.pathname).toBe(redirect);
    expect(location.searchParams.get('state')).toBe('st-42');
    const code = location.searchParams.get('code') as string;
    const oauth = new auth.OAuth2({ clientId: 'client-3', clientSecret: 'pw', redirectUri: redirect, endpoints: { oauth2TokenUrl: emu.tokenUrl } });
    const { tokens } = await oauth.getToken(code);
    expect(tokens.refresh_token).toBeTruthy();
    oauth.setCredentials(tokens);
    expect((await gmail({ version: 'v1', auth: oauth, rootUrl: emu.rootUrl }).users.getProfile({ userId: 'me' })).data.emailAddress).toBe(alice);
    // A code is single-use.
    await expect(oauth.getToken(code)).rejects.toThrow(/invalid_grant/);
  });
});
