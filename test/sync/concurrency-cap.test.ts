/**
 * Gmail limits the requests a user has in flight ("Too many concurrent requests for user"), and it
 * counts every request alike: single gets, attachment downloads, list and history calls, and each
 * part of a batch (the parts run at once). With the emulator's cap at 5 per user and some service
 * time, so that requests really overlap, crm-mail's defaults must sync a firm without one refusal.
 */
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { SCENARIOS } from '../../src/emulator/index.js';
import { runCli } from '../helpers/cli.js';
import { tempDir } from '../helpers/tmp.js';
import { expectedCapture, expectExactCapture, startFirm, type Firm, attachmentStatus } from './firm.js';

const dir = tempDir('crm-mail-concurrency-cap-');
const CAP = 5;
let firm: Firm;

interface AccountRun {
  account: string;
  status: string;
  stored: number;
  deferred: number;
  attachmentsStored: number;
  apiCalls: number;
  throttled: number;
}

beforeAll(async () => {
  firm = await startFirm(dir, { scenario: { ...SCENARIOS.small, seed: 23, partners: 3, messages: 80 }, emulator: { maxConcurrentPerUser: CAP, latencyMs: 15 } });
  expect((await runCli(['enroll-all'], { env: firm.env })).code).toBe(0);
});
afterAll(async () => firm?.stop());


describe(`a per-user cap of ${CAP} requests in flight (batch parts, singles and attachment downloads alike)`, () => {
  it('a backfill with the defaults gets no concurrency refusal, stores all mail and every attachment, exit 0', async () => {
    const result = await runCli(['--json', 'sync', '--no-propose'], { env: firm.env });
    expect(result.code, result.stderr + result.stdout).toBe(0);
    const accounts = (JSON.parse(result.stdout) as { accounts: AccountRun[] }).accounts;
    const expected = expectedCapture(firm.scenario);
    for (const account of accounts) {
      expect(account, account.account).toMatchObject({ status: 'ok', deferred: 0, throttled: 0, stored: expected.get(account.account)!.size });
      const server = firm.emu.counters(account.account);
      expect(server.refusedConcurrency, account.account).toBe(0);
      expect(server.refused, account.account).toBe(0);
      // Every call crm-mail counted reached Gmail once: nothing was sent twice.
      expect(server.calls, account.account).toBe(account.apiCalls);
    }
    expect(firm.emu.counters().refusedConcurrency).toBe(0);
    expectExactCapture(firm);
    const status = attachmentStatus(firm);
    expect(status.stored).toBeGreaterThan(0);
    expect(status).toEqual({ stored: status.stored });
    expect(accounts.reduce((total, account) => total + account.attachmentsStored, 0)).toBeGreaterThan(0);
  });

  it('an incremental run with new mail (headers first, then full, in batches) stays under the cap too', async () => {
    const partner = firm.scenario.partners[0]!.email.toLowerCase();
    const institution = firm.scenario.investors.find((investor) => investor.domains.length > 0)!;
    for (let i = 0; i < 12; i++) {
      const raw = Buffer.from(
        [`From: ${institution.contacts[0]}`, `To: ${partner}`, `Subject: Follow-up ${i}`, `Date: ${new Date(firm.emu.now()).toUTCString()}`, `Message-ID: <cap-${i}-${firm.emu.now()}@lp.example>`, '', `Note ${i}.`, ''].join('\r\n'),
      );
      firm.emu.addMessage(partner, raw, { labelIds: ['INBOX'] });
    }
    firm.emu.resetCounters();
    const result = await runCli(['--json', 'sync', '--no-propose'], { env: firm.env });
    expect(result.code, result.stderr + result.stdout).toBe(0);
    const run = (JSON.parse(result.stdout) as { accounts: AccountRun[] }).accounts.find((account) => account.account === partner)!;
    expect(run).toMatchObject({ status: 'ok', stored: 12, deferred: 0, throttled: 0 });
    expect(firm.emu.counters().refusedConcurrency).toBe(0);
    expect(firm.emu.counters(partner).byMethod['messages.get']?.calls).toBe(24);
  });
});
