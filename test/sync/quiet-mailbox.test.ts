/**
 * Gmail refuses a history start id once its last change is old, even when nothing changed since
 * (lieer #203: a quiet mailbox caught in a "historyId is too old" loop). The emulator's
 * `historyStartIdMaxAgeDays` does that; a mailbox that receives nothing for 30 days must stay
 * incremental, never re-listing every run, and still capture the first mail that ends the quiet.
 */
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { SCENARIOS } from '../../src/emulator/index.js';
import { runCli } from '../helpers/cli.js';
import { tempDir } from '../helpers/tmp.js';
import { expectExactCapture, startFirm, type Firm } from './firm.js';

const DAY_MS = 86_400_000;
const dir = tempDir('crm-mail-quiet-');
let firm: Firm;

interface AccountRun {
  account: string;
  kind: string;
  status: string;
  stored: number;
  details: { path?: string };
}

async function sync(): Promise<AccountRun[]> {
  firm.emu.resetCounters();
  const result = await runCli(['--json', 'sync', '--no-propose'], { env: firm.env });
  expect(result.code, result.stderr + result.stdout).toBe(0);
  return (JSON.parse(result.stdout) as { accounts: AccountRun[] }).accounts;
}

const calls = (user: string, method: string): number => firm.emu.counters(user).byMethod[method]?.calls ?? 0;

beforeAll(async () => {
  firm = await startFirm(dir, { scenario: { ...SCENARIOS.small, seed: 51, partners: 2, messages: 40 }, emulator: { historyStartIdMaxAgeDays: 7 } });
  expect((await runCli(['enroll-all'], { env: firm.env })).code).toBe(0);
  expect((await sync()).every((account) => account.kind === 'backfill' && account.status === 'ok')).toBe(true);
});
afterAll(async () => firm?.stop());

describe('a quiet mailbox', () => {
  it('stays incremental through 30 days without mail, one history call and at most one profile read per run', async () => {
    const paths = new Set<string>();
    for (let day = 6; day <= 30; day += 6) {
      firm.emu.advanceTime(6 * DAY_MS);
      for (const account of await sync()) {
        expect(account, `day ${day}`).toMatchObject({ kind: 'incremental', status: 'ok', stored: 0 });
        paths.add(account.details.path ?? '');
        expect(calls(account.account, 'history.list')).toBe(1);
        expect(calls(account.account, 'getProfile')).toBeLessThanOrEqual(1);
        expect(calls(account.account, 'messages.list')).toBe(0);
        expect(calls(account.account, 'messages.get')).toBe(0);
      }
    }
    // Gmail did refuse the unchanged cursor once it was over a week old, and that cost no re-list.
    expect([...paths].some((path) => path.startsWith('incremental (quiet mailbox'))).toBe(true);
    expectExactCapture(firm);
  });

  it('captures the mail that ends the quiet, then is incremental again on a fresh cursor', async () => {
    const partner = firm.scenario.partners[0]!.email.toLowerCase();
    const institution = firm.scenario.investors.find((item) => item.domains.length > 0)!;
    const messageId = `quiet-end-${firm.emu.now()}@lp.example`;
    const raw = Buffer.from(
      [`From: ${institution.contacts[0]}`, `To: ${partner}`, 'Subject: Back from the summer', `Date: ${new Date(firm.emu.now()).toUTCString()}`, `Message-ID: <${messageId}>`, '', 'Hello again.', ''].join('\r\n'),
    );
    firm.emu.addMessage(partner, raw, { labelIds: ['INBOX'] });
    // The cursor's last change is a month old and the mailbox has changed: Gmail's 404 is real this time.
    const ended = (await sync()).find((account) => account.account === partner)!;
    expect(ended).toMatchObject({ kind: 'relist', status: 'ok', stored: 1 });
    expect(ended.details.path).toBe('history_expired -> relist');
    const db = firm.open();
    const row = db.prepare('SELECT m.investor_id FROM emails e JOIN email_investor_matches m ON m.email_id = e.id WHERE e.rfc_message_id = ?').get(messageId) as { investor_id: number } | undefined;
    db.close();
    expect(row?.investor_id).toBe(institution.id);

    const next = (await sync()).find((account) => account.account === partner)!;
    expect(next).toMatchObject({ kind: 'incremental', status: 'ok', stored: 0, details: { path: 'incremental' } });
    expect(calls(partner, 'getProfile')).toBe(0);
  });
});
