import { afterAll, describe, expect, it } from 'vitest';
import { SCENARIOS } from '../../src/emulator/index.js';
import { tempDir } from '../helpers/tmp.js';
import type { Firm } from './firm.js';
import { expectExactCapture, meteredFirm, syncOnce } from './quota2026.js';

const dir = tempDir('crm-mail-quota2026-faults-');
// Every mailbox at once (each has its own quota): the run takes one account's time, not two rounds.
const ACCOUNTS_AT_ONCE = { CRM_GMAIL_ACCOUNT_CONCURRENCY: '5' };
const firms: Firm[] = [];
afterAll(async () => {
  for (const firm of firms) await firm.stop();
});

describe('the 2026 quota model under faults, one run each', () => {
  it('a quarter of all calls failing (resets kill whole batches): one sync, exit 0, nothing missing or duplicated', async () => {
    const firm = await meteredFirm(dir, 'faults', { ...SCENARIOS.medium, seed: 11 }, { quotaModel: '2026', quotaUnits: 6000, faultRate: 0.25, faultSeed: 4242 }, ACCOUNTS_AT_ONCE);
    firms.push(firm);
    const { code, summary, stderr } = await syncOnce(firm);
    expect(code, stderr + JSON.stringify(summary.accounts.map((a) => a.error))).toBe(0);
    expect(summary.accounts.every((account) => account.status === 'ok' && account.deferred === 0)).toBe(true);
    expect(firm.emu.counters().refused).toBeGreaterThan(100);
    expectExactCapture(firm);
  }, 900_000);

  it('at most 5 concurrent requests per user (batch parts count) and a client set to 10: one sync, exit 0, nothing missing or duplicated', async () => {
    // The client allowed 10 in flight, twice what Gmail takes: refusals happen and must be adapted to.
    // (With the default 5 there are none: test/sync/concurrency-cap.test.ts.)
    const firm = await meteredFirm(dir, 'concurrency', { ...SCENARIOS.medium, seed: 12 }, { quotaModel: '2026', quotaUnits: 6000, maxConcurrentPerUser: 5 }, { ...ACCOUNTS_AT_ONCE, CRM_GMAIL_MAX_IN_FLIGHT: '10' });
    firms.push(firm);
    const { code, summary, stderr } = await syncOnce(firm);
    expect(code, stderr).toBe(0);
    expect(summary.accounts.every((account) => account.status === 'ok' && account.deferred === 0)).toBe(true);
    // Gmail refused batch parts for concurrency, and crm-mail adapted instead of failing.
    expect(firm.emu.counters().refusedConcurrency).toBeGreaterThan(0);
    expectExactCapture(firm);
  }, 900_000);
});
