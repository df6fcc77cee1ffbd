/**
 * Issue 17 item 11: the units a sync reports are the units Gmail charged. The emulator's meter
 * charges a call only when it is served (a part refused for quota, for concurrency or by a fault
 * costs nothing), so per account crm-mail's figure must equal the emulator's, with and without
 * throttling and retries. Before the fix a batch was counted whole before it was sent, and again
 * for every re-sent part.
 */
import { afterAll, describe, expect, it } from 'vitest';
import { SCENARIOS, type EmulatorOptions } from '../../src/emulator/index.js';
import { tempDir } from '../helpers/tmp.js';
import type { Firm } from '../sync/firm.js';
import { meteredFirm, syncOnce } from '../sync/quota2026.js';

const dir = tempDir('crm-mail-units-');
const firms: Firm[] = [];
afterAll(async () => {
  for (const firm of firms) await firm.stop();
});

async function reportedAndCharged(name: string, emulator: Omit<EmulatorOptions, 'scenario'>, env: Record<string, string>): Promise<{ reported: Record<string, number>; charged: Record<string, number>; refused: number }> {
  const firm = await meteredFirm(dir, name, { ...SCENARIOS.small, seed: 31 }, emulator, { CRM_GMAIL_ACCOUNT_CONCURRENCY: '3', ...env });
  firms.push(firm);
  firm.emu.resetCounters(); // enrollment's profile reads are not part of the sync
  const { code, summary, stderr } = await syncOnce(firm);
  expect(code, stderr).toBe(0);
  const reported: Record<string, number> = {};
  const charged: Record<string, number> = {};
  for (const account of summary.accounts) {
    reported[account.account] = account.apiUnits;
    charged[account.account] = firm.emu.counters(account.account).units;
  }
  return { reported, charged, refused: firm.emu.counters().refused };
}

describe('reported API units', () => {
  it('equal what the emulator charged, per account, in a clean run', async () => {
    const { reported, charged } = await reportedAndCharged('clean', { quotaModel: 'legacy', quotaUnits: 250 }, { CRM_GMAIL_QUOTA_MODEL: 'legacy', CRM_GMAIL_RATE_UNITS_SEC: '150' });
    expect(Object.values(charged).every((units) => units > 0)).toBe(true);
    expect(reported).toEqual(charged);
  }, 300_000);

  it('equal what the emulator charged when Gmail throttles (crm-mail set above the real limit) and faults force retries', async () => {
    const { reported, charged, refused } = await reportedAndCharged(
      'throttled',
      { quotaModel: 'legacy', quotaUnits: 60, faultRate: 0.15, faultSeed: 77, maxConcurrentPerUser: 3 },
      { CRM_GMAIL_QUOTA_MODEL: 'legacy', CRM_GMAIL_RATE_UNITS_SEC: '250' },
    );
    expect(refused).toBeGreaterThan(20);
    expect(reported).toEqual(charged);
  }, 300_000);
});
