import { afterAll, describe, expect, it } from 'vitest';
import { SCENARIOS } from '../../src/emulator/index.js';
import { createDwdCredentials } from '../../src/gmail/auth.js';
import { GmailAccountClient } from '../../src/gmail/client.js';
import { runCli } from '../helpers/cli.js';
import { tempDir } from '../helpers/tmp.js';
import { expectedCapture, storedCapture, type Firm } from './firm.js';
import { expectedCopies, expectExactCapture, meteredFirm, syncOnce } from './quota2026.js';

const dir = tempDir('crm-mail-deferred-');
const firms: Firm[] = [];
afterAll(async () => {
  for (const firm of firms) await firm.stop();
});

/** The Gmail id of an investor message the backfill will list, found as any Gmail client would. */
async function investorMessageId(firm: Firm, user: string, nth: number): Promise<{ gmailId: string; messageId: string }> {
  const messageId = [...expectedCapture(firm.scenario).get(user)!.keys()][nth]!;
  const credentials = createDwdCredentials({ keyFile: firm.emu.serviceAccountKeyFile, tokenUrl: firm.emu.tokenUrl });
  const client = new GmailAccountClient({ user, credentials, apiRoot: firm.emu.rootUrl, retryMax: 0, quotaModel: 'legacy', budget: 100_000 });
  for await (const page of client.listMessages({ q: `rfc822msgid:${messageId}` })) if (page.messages[0]) return { gmailId: page.messages[0].id, messageId };
  throw new Error(`no Gmail id for ${messageId}`);
}

function storedIds(firm: Firm, user: string): Set<string> {
  const db = firm.open();
  const box = storedCapture(db).byAccount.get(user) ?? new Map();
  db.close();
  return new Set(box.keys());
}

describe('a message Gmail keeps failing', () => {
  it('is deferred with its error while everything else is stored; status reports it and alerts after a day; the next run stores it', async () => {
    const firm = await meteredFirm(dir, 'deferred', { ...SCENARIOS.small, seed: 41 }, { quotaModel: '2026', quotaUnits: 0 });
    firms.push(firm);
    const user = firm.scenario.partners[0]!.email.toLowerCase();
    const failing = await investorMessageId(firm, user, 3);
    const resetting = await investorMessageId(firm, user, 9);
    // One part always answers 500; the other resets every batch that carries it (the whole request dies).
    firm.emu.injectFault({ method: 'messages.get', id: failing.gmailId, kind: '500', probability: 1 });
    firm.emu.injectFault({ method: 'messages.get', id: resetting.gmailId, kind: 'reset', probability: 1 });

    const first = await syncOnce(firm, [], { CRM_GMAIL_RETRY_MAX: '2' });
    expect(first.code, first.stderr).toBe(0);
    const account = first.summary.accounts.find((entry) => entry.account === user)!;
    expect(account).toMatchObject({ status: 'ok', deferred: 2 });
    expect(first.summary.accounts.filter((entry) => entry.account !== user).every((entry) => entry.deferred === 0)).toBe(true);
    const stored = storedIds(firm, user);
    expect(stored.has(failing.messageId)).toBe(false);
    expect(stored.has(resetting.messageId)).toBe(false);
    expect(stored.size).toBe(expectedCopies(firm).get(user)! - 2);

    const plain = await runCli(['sync', '--no-propose'], { env: firm.env });
    expect(plain.code).toBe(0);
    // The checkpoint moved on: the second run is incremental, and it tried the two first (still failing).
    expect(plain.stdout).toMatch(new RegExp(`${user.replace('.', '\\.')} ok incremental: .*\\(2 deferred: Gmail kept failing them; the next run tries them first\\)`));

    const status = await runCli(['--json', 'status'], { env: firm.env });
    const row = (JSON.parse(status.stdout) as { accounts: Array<{ email: string; deferred: number; deferredLastError: string; alert: boolean }> }).accounts.find((entry) => entry.email === user)!;
    expect(row).toMatchObject({ deferred: 2, alert: false });
    expect(row.deferredLastError).toMatch(/messages\.get/);
    expect(status.code).toBe(0);

    const db = firm.open();
    db.prepare("UPDATE email_deferred_messages SET first_deferred_at = '2026-01-01T00:00:00.000Z'").run();
    db.close();
    const late = await runCli(['status'], { env: firm.env });
    expect(late.code).toBe(1);
    expect(late.stdout).toMatch(/! .*: 2 messages deferred, the oldest for \d+ h: Gmail keeps failing them/);

    firm.emu.clearFaults();
    const healed = await syncOnce(firm);
    expect(healed.code, healed.stderr).toBe(0);
    expect(healed.summary.accounts.find((entry) => entry.account === user)).toMatchObject({ status: 'ok', deferred: 0 });
    expect(healed.summary.accounts.find((entry) => entry.account === user)!.details.deferredRetried).toMatchObject({ tried: 2, stored: 2, stillDeferred: 0 });
    expectExactCapture(firm);
    const after = await runCli(['--json', 'status'], { env: firm.env });
    expect(after.code).toBe(0);
  }, 600_000);
});

describe('a run stopped by its time budget', () => {
  it('stops at a chunk boundary; the next run resumes there: the same final state, and no message fetched twice', async () => {
    // A small budget (30 gets a minute) so the first minute runs out at once and the stop is seen.
    const env = { CRM_GMAIL_RATE_UNITS_MIN: '600', CRM_GMAIL_BACKFILL_PAGE_SIZE: '10' };
    const firm = await meteredFirm(dir, 'budget', { ...SCENARIOS.small, seed: 43 }, { quotaModel: '2026', quotaUnits: 6000 }, env);
    firms.push(firm);
    const first = await syncOnce(firm, ['--max-minutes', '0.1']);
    expect(first.code, first.stderr).toBe(0);
    expect(first.summary.accounts.every((account) => account.status === 'ok' && typeof account.details.stopped === 'string')).toBe(true);
    const copies = expectedCopies(firm);
    const total = [...copies.values()].reduce((sum, count) => sum + count, 0);
    const afterFirst = [...copies.keys()].reduce((sum, user) => sum + storedIds(firm, user).size, 0);
    expect(afterFirst).toBeGreaterThan(0);
    expect(afterFirst).toBeLessThan(total);
    const status = await runCli(['--json', 'status'], { env: firm.env });
    const rows = (JSON.parse(status.stdout) as { accounts: Array<{ backfill: string; listing: { handled: number; estimate: number; etaMs: number } | null }> }).accounts;
    for (const row of rows) {
      expect(row.backfill).toBe('in_progress');
      expect(row.listing!.handled).toBeGreaterThan(0);
      expect(row.listing!.etaMs).toBeGreaterThan(0);
    }

    const second = await syncOnce(firm);
    expect(second.code, second.stderr).toBe(0);
    expect(second.summary.accounts.every((account) => account.status === 'ok' && account.details.stopped === undefined && account.details.resumedFrom !== undefined)).toBe(true);
    expectExactCapture(firm);
    for (const [user, count] of copies) expect(firm.emu.counters(user).byMethod['messages.get']?.calls, user).toBe(count);
  }, 600_000);

  it('refuses a --max-minutes that is not a positive number of minutes', async () => {
    const firm = firms[0]!;
    const bad = await runCli(['sync', '--max-minutes', 'soon'], { env: firm.env });
    expect(bad.code).toBe(2);
    expect(bad.stderr).toMatch(/--max-minutes "soon" is not valid: expected minutes/);
  });
});
