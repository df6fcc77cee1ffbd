/**
 * With HTTPS_PROXY set (as on many firm servers), calls to a loopback Gmail root and token URL (the
 * emulator) must not go through the proxy: gaxios has no loopback exemption of its own. The proxy
 * here is a closed port, so any request sent to it fails.
 */
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { startEmulator, type Emulator } from '../../src/emulator/index.js';
import { createDwdCredentials } from '../../src/gmail/auth.js';
import { GmailAccountClient } from '../../src/gmail/client.js';
import { runOAuthConsent } from '../../src/gmail/oauthConsent.js';
import { emulatorConfig, JANE, mailbox } from './support.js';

let emu: Emulator;
const saved = { https: process.env.HTTPS_PROXY, http: process.env.HTTP_PROXY, no: process.env.NO_PROXY };

beforeAll(async () => {
  process.env.HTTPS_PROXY = 'http://127.0.0.1:9';
  process.env.HTTP_PROXY = 'http://127.0.0.1:9';
  delete process.env.NO_PROXY;
  emu = await startEmulator({ mailboxes: { [JANE]: mailbox(5) }, quotaUnitsPerSec: 0 });
  emu.registerOAuthClient('proxy-test', 'proxy-secret');
});
afterAll(async () => {
  await emu?.stop();
  for (const [name, value] of [['HTTPS_PROXY', saved.https], ['HTTP_PROXY', saved.http], ['NO_PROXY', saved.no]] as const) {
    if (value === undefined) delete process.env[name];
    else process.env[name] = value;
  }
});

describe('loopback endpoints bypass HTTPS_PROXY', () => {
  it('DWD token, single calls and batches reach the emulator directly', async () => {
    const credentials = createDwdCredentials({ keyFile: emu.serviceAccountKeyFile, tokenUrl: emu.tokenUrl });
    const gmail = new GmailAccountClient({ user: JANE, credentials, apiRoot: emu.rootUrl, unitsPerSec: 1000, retryMax: 0, batch: true });
    expect((await gmail.getProfile()).emailAddress).toBe(JANE);
    const results = await gmail.getMessages(emu.messageIds(JANE), 'minimal');
    expect(results.size).toBe(5);
    expect(gmail.stats().batches).toBe(1);
  });

  it('the OAuth consent exchange and mailbox check too', async () => {
    const config = emulatorConfig(emu, { CRM_GMAIL_OAUTH_CLIENT_ID: 'proxy-test', CRM_GMAIL_OAUTH_CLIENT_SECRET: 'proxy-secret' });
    const token = await runOAuthConsent({ config, email: JANE, out: { info: () => undefined }, openUrl: async (url) => void (await fetch(url)) });
    expect(token).toMatch(/^1\/\//);
  });
});
