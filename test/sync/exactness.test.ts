import { afterAll, describe, expect, it } from 'vitest';
import { SCENARIOS } from '../../src/emulator/index.js';
import { runCli } from '../helpers/cli.js';
import { tempDir } from '../helpers/tmp.js';
import { expectedCapture, expectExactCapture, startFirm, storedCapture, type Firm } from './firm.js';

const dir = tempDir('crm-mail-exact-');
const firms: Firm[] = [];
afterAll(async () => {
  for (const firm of firms) await firm.stop();
});


describe('backfill completeness', () => {
  it('stores exactly the investor mail of a 5-partner, 50-investor, 5,000-message firm, per account and per investor', async () => {
    const firm = await startFirm(dir, { scenario: { ...SCENARIOS.medium }, name: 'medium' });
    firms.push(firm);
    expect((await runCli(['enroll-all'], { env: firm.env })).code).toBe(0);
    const result = await runCli(['--json', 'sync', '--no-propose'], { env: firm.env, timeoutMs: 300_000 });
    expect(result.code, result.stderr).toBe(0);
    const summary = JSON.parse(result.stdout) as { ok: boolean; accounts: Array<{ status: string; stored: number }> };
    expect(summary.ok).toBe(true);
    expect(summary.accounts).toHaveLength(5);
    const expectedCopies = [...expectedCapture(firm.scenario).values()].reduce((total, box) => total + box.size, 0);
    expect(expectedCopies).toBeGreaterThan(1000);
    expect(summary.accounts.reduce((total, account) => total + account.stored, 0)).toBe(expectedCopies);
    expectExactCapture(firm);
    const verify = await runCli(['--json', 'verify'], { env: firm.env, timeoutMs: 300_000 });
    expect(JSON.parse(verify.stdout)).toMatchObject({ ok: true });
    expect(verify.code).toBe(0);
  }, 600_000);

  it('reaches the same exact state under 10% injected faults of every retryable kind', async () => {
    const firm = await startFirm(dir, { scenario: { ...SCENARIOS.small, seed: 17 }, emulator: { faultRate: 0.1, faultSeed: 99 }, name: 'faults' });
    firms.push(firm);
    expect((await runCli(['enroll-all'], { env: firm.env })).code).toBe(0);
    // As cron would: rerun until every account reports ok (a run that exhausts its retries resumes next time).
    const codes: number[] = [];
    for (let run = 0; run < 6 && codes.at(-1) !== 0; run++) {
      const result = await runCli(['sync', '--no-propose'], { env: { ...firm.env, CRM_GMAIL_RETRY_MAX: '8' }, timeoutMs: 300_000 });
      codes.push(result.code);
    }
    expect(codes.at(-1)).toBe(0);
    // The faults really fired: about a tenth of the calls (each message is fetched once, so there are
    // fewer calls than when headers came first; a count fixed then no longer fits).
    const served = firm.emu.counters();
    expect(served.refused).toBeGreaterThan(10);
    expect(served.refused / served.calls).toBeGreaterThan(0.05);
    const db = firm.open();
    const retries = db.prepare('SELECT sum(retries) AS n FROM email_sync_runs').get() as { n: number };
    db.close();
    // A re-sent batch counts a retry per part: with 5-part batches (CRM_GMAIL_MAX_IN_FLIGHT's default)
    // a reset costs 5 retries where a 50-part batch cost up to 50.
    expect(retries.n).toBeGreaterThan(10);
    expectExactCapture(firm);
  }, 600_000);

  it('with CRM_GMAIL_CAPTURE=all keeps every message of the mailbox except excluded mail', async () => {
    const firm = await startFirm(dir, { scenario: { ...SCENARIOS.small, seed: 23, partners: 2 }, name: 'all' });
    firms.push(firm);
    const excluded = firm.scenario.investors.find((investor) => investor.domains.length > 0)!.domains[0]!;
    const env = { ...firm.env, CRM_GMAIL_CAPTURE: 'all', CRM_GMAIL_EXCLUDE: excluded };
    expect((await runCli(['enroll-all'], { env })).code).toBe(0);
    const result = await runCli(['sync', '--no-propose'], { env });
    expect(result.code, result.stderr).toBe(0);

    const involves = (raw: Buffer, domain: string): boolean => {
      const head = raw.toString('latin1').split(/\r?\n\r?\n/)[0]!.replace(/\r?\n[ \t]+/g, ' ');
      const participants = head.split(/\r?\n/).filter((line) => /^(from|to|cc|bcc|reply-to):/i.test(line)).join(' ').toLowerCase();
      return participants.includes('@' + domain) || participants.includes('.' + domain);
    };
    const db = firm.open();
    const stored = storedCapture(db);
    db.close();
    let excludedSeen = 0;
    for (const partner of firm.scenario.partners) {
      const box = firm.scenario.mailboxes[partner.email]!;
      const expected = new Set<string>();
      box.forEach((message, index) => {
        if (message.labelIds.some((label) => ['TRASH', 'SPAM', 'DRAFT', 'CHAT'].includes(label))) return;
        if (involves(message.raw, excluded)) {
          excludedSeen += 1;
          return;
        }
        expected.add(firm.scenario.truth[partner.email]![index]!.messageId.replace(/^<|>$/g, ''));
      });
      expect(new Set(stored.byAccount.get(partner.email.toLowerCase())?.keys())).toEqual(expected);
    }
    expect(excludedSeen).toBeGreaterThan(0);
    expect(stored.duplicates).toBe(0);
    const verify = await runCli(['--json', 'verify'], { env });
    expect(JSON.parse(verify.stdout)).toMatchObject({ ok: true });
  });
});
