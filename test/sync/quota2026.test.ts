import { afterAll, describe, expect, it } from 'vitest';
import { SCENARIOS } from '../../src/emulator/index.js';
import { tempDir } from '../helpers/tmp.js';
import type { Firm } from './firm.js';
import { expectedCopies, expectExactCapture, meteredFirm, syncOnce } from './quota2026.js';

const dir = tempDir('crm-mail-quota2026-');
const firms: Firm[] = [];
afterAll(async () => {
  for (const firm of firms) await firm.stop();
});

describe('a new Google Cloud project (the 2026 quota model) with crm-mail defaults', () => {
  it('one sync completes every backfill of the medium firm: exact capture, nothing deferred, one get per stored copy, no minute over the budget', async () => {
    const firm = await meteredFirm(dir, 'medium-2026', { ...SCENARIOS.medium }, { quotaModel: '2026', quotaUnits: 6000 });
    firms.push(firm);
    expect(firm.emu.quotaModel).toBe('2026');
    const { code, summary, stderr } = await syncOnce(firm);
    expect(code, stderr).toBe(0);
    expect(summary.ok).toBe(true);
    expect(summary.accounts).toHaveLength(5);
    for (const account of summary.accounts) {
      expect(account, account.error ?? '').toMatchObject({ status: 'ok', deferred: 0 });
      expect(account.details.stopped).toBeUndefined();
    }
    expectExactCapture(firm);
    const copies = expectedCopies(firm);
    let units = 0;
    let stored = 0;
    for (const [user, count] of copies) {
      const counters = firm.emu.counters(user);
      // crm-mail's default budget is 90% of Gmail's 6,000 per minute, and it is never exceeded.
      expect(counters.peakWindowUnits, user).toBeLessThanOrEqual(5400);
      expect(counters.refusedQuota, user).toBe(0);
      // Found by the investor searches, so fetched once, in full: no metadata get first.
      expect(counters.byMethod['messages.get']?.calls, user).toBe(count);
      // Attachment downloads are the attachments' cost, not the messages': counted apart.
      units += counters.units - (counters.byMethod['messages.attachments.get']?.units ?? 0);
      stored += count;
    }
    expect(stored).toBeGreaterThan(1000);
    expect(units / stored).toBeLessThanOrEqual(21);
  }, 900_000);

  it('the legacy model still completes in one run, at its own units and its per-second budget', async () => {
    const firm = await meteredFirm(dir, 'medium-legacy', { ...SCENARIOS.medium, seed: 5 }, { quotaModel: 'legacy', quotaUnits: 250 }, { CRM_GMAIL_QUOTA_MODEL: 'legacy' });
    firms.push(firm);
    const { code, summary, stderr } = await syncOnce(firm);
    expect(code, stderr).toBe(0);
    expect(summary.accounts.every((account) => account.status === 'ok' && account.deferred === 0)).toBe(true);
    expectExactCapture(firm);
    for (const [user, count] of expectedCopies(firm)) {
      const counters = firm.emu.counters(user);
      expect(counters.peakWindowUnits, user).toBeLessThanOrEqual(150);
      expect(counters.byMethod['messages.get']?.units, user).toBe(count * 5);
    }
  }, 900_000);
});
