import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { SCENARIOS } from '../../src/emulator/index.js';
import { runCli } from '../helpers/cli.js';
import { tempDir } from '../helpers/tmp.js';
import { expectedCapture, plain, startFirm, storedCapture, type Firm } from './firm.js';

const dir = tempDir('crm-mail-commands-');
let firm: Firm;
let ghost: string;
/** The investor left out of the CRM for the first backfill, added back to exercise rematch. */
let late: { id: number; name: string; emailCell: string; firm: string | null };

beforeAll(async () => {
  firm = await startFirm(dir, { scenario: { ...SCENARIOS.small, seed: 3 } });
  ghost = `ghost@${firm.emu.domain}`;
  const db = firm.open();
  // Leave out an institution with mail in several mailboxes; enroll a user the mailbox server does not know.
  const counts = new Map<number, number>();
  for (const box of Object.values(firm.scenario.truth)) for (const entry of box) for (const id of entry.investorIds) counts.set(id, (counts.get(id) ?? 0) + 1);
  const chosen = firm.scenario.investors.filter((investor) => investor.domains.length > 0).sort((a, b) => (counts.get(b.id) ?? 0) - (counts.get(a.id) ?? 0))[0]!;
  late = { id: chosen.id, name: chosen.name, emailCell: chosen.emailCell, firm: chosen.firm };
  db.prepare('DELETE FROM investors WHERE id = ?').run(late.id);
  db.prepare('INSERT INTO users (email, name, is_active) VALUES (?, ?, 1)').run(ghost, 'Ghost Partner');
  db.close();
  expect((await runCli(['enroll-all'], { env: firm.env })).code).toBe(0);
});
afterAll(async () => firm?.stop());

describe('sync, status, messages, rematch', () => {
  it('syncs every account even when one fails, one plain line each, and says why propose was skipped', async () => {
    const result = await runCli(['sync'], { env: firm.env });
    // Google refuses a token for a user it does not know (invalid_grant): an auth failure, exit 4.
    expect(result.code).toBe(4);
    const lines = result.stdout.trim().split('\n');
    expect(lines.filter((line) => / ok backfill: /.test(line))).toHaveLength(3);
    expect(lines.find((line) => line.startsWith(`${ghost} error backfill:`))).toBeDefined();
    expect(result.stdout).toContain('propose: skipped, no drafter configured (set CRM_MAIL_MODEL to a GGUF model, or CRM_MAIL_DRAFTER=rule)');
  });

  it('status flags the failing account and exits 1; a paused account does not alert', async () => {
    const failing = await runCli(['status'], { env: firm.env });
    expect(failing.code).toBe(1);
    expect(failing.stdout).toContain('failing (!)');
    expect(failing.stdout).toContain(`! ${ghost}: last run failed`);
    const json = JSON.parse((await runCli(['--json', 'status'], { env: firm.env })).stdout) as { alerts: number; accounts: Array<{ email: string; health: string; stored: number; matched: number; lastRun: { kind: string; apiCalls: number } | null }> };
    expect(json.alerts).toBe(1);
    const healthy = json.accounts.filter((account) => account.health === 'ok');
    expect(healthy).toHaveLength(3);
    for (const account of healthy) {
      expect(account.stored).toBeGreaterThan(0);
      expect(account.matched).toBe(account.stored);
      expect(account.lastRun?.kind).toBe('backfill');
      expect(account.lastRun?.apiCalls).toBeGreaterThan(0);
    }
    expect((await runCli(['accounts', 'pause', ghost], { env: firm.env })).code).toBe(0);
    const calm = await runCli(['status'], { env: firm.env });
    expect(calm.code).toBe(0);
    expect(calm.stdout).toContain('no alerts');
  });

  it('status alerts when the last success is older than twice the cron interval', async () => {
    const partner = firm.scenario.partners[0]!.email.toLowerCase();
    const db = firm.open();
    db.prepare('UPDATE email_accounts SET last_success_at = ? WHERE email = ?').run(new Date(Date.now() - 31 * 60_000).toISOString(), partner);
    db.close();
    const stale = await runCli(['--json', 'status'], { env: firm.env });
    expect(stale.code).toBe(1);
    expect((JSON.parse(stale.stdout) as { accounts: Array<{ email: string; health: string }> }).accounts.find((account) => account.email === partner)?.health).toBe('stale');
    expect((await runCli(['status'], { env: { ...firm.env, CRM_GMAIL_SYNC_INTERVAL_MIN: '30' } })).code).toBe(0);
  });

  it('exports the stored mail, one row per mailbox copy, filtered by investor, account and date', async () => {
    const all = JSON.parse((await runCli(['--json', 'messages'], { env: firm.env })).stdout) as Array<{
      account: string;
      gmailId: string;
      messageId: string;
      date: string;
      direction: string;
      investors: Array<{ investorId: number; strategy: string; address: string }>;
    }>;
    const db = firm.open();
    const stored = storedCapture(db);
    db.close();
    expect(all).toHaveLength(stored.rows);
    expect(all.every((row) => row.investors.length > 0 && ['sent', 'received'].includes(row.direction))).toBe(true);
    const investorId = all[0]!.investors[0]!.investorId;
    const forInvestor = JSON.parse((await runCli(['--json', 'messages', '--investor', String(investorId)], { env: firm.env })).stdout) as typeof all;
    expect(forInvestor.length).toBe(all.filter((row) => row.investors.some((match) => match.investorId === investorId)).length);
    const names = firm.open();
    const investorName = (names.prepare('SELECT name FROM investors WHERE id = ?').get(investorId) as { name: string }).name;
    names.close();
    const byName = await runCli(['--json', 'messages', '--investor', investorName], { env: firm.env });
    expect(byName.code, byName.stderr).toBe(0);
    expect((JSON.parse(byName.stdout) as typeof all).map((row) => row.gmailId)).toEqual(forInvestor.map((row) => row.gmailId));
    const unknown = await runCli(['messages', '--investor', 'No Such Investor Anywhere'], { env: firm.env });
    expect(unknown.code).toBe(7);
    expect(unknown.stderr).toContain('no investor matches "No Such Investor Anywhere"');
    const account = all[0]!.account;
    const forAccount = JSON.parse((await runCli(['--json', 'messages', '--account', account], { env: firm.env })).stdout) as typeof all;
    expect(forAccount.length).toBe(all.filter((row) => row.account === account).length);
    const since = all[Math.floor(all.length / 2)]!.date;
    const recent = JSON.parse((await runCli(['--json', 'messages', '--since', since], { env: firm.env })).stdout) as typeof all;
    expect(recent.length).toBe(all.filter((row) => row.date >= since).length);
    const table = await runCli(['messages', '--limit', '3'], { env: firm.env });
    expect(table.stdout).toContain('3 copies');
    expect((await runCli(['messages', '--since', 'yesterday-ish'], { env: firm.env })).code).toBe(2);
  });

  it('rematch links stored mail to a newly added investor, and --remote fetches the rest of its mail', async () => {
    const db = firm.open();
    db.prepare('INSERT INTO investors (id, name, email, firm) VALUES (?, ?, ?, ?)').run(late.id, late.name, late.emailCell, late.firm);
    db.close();
    // The next sync notices that the new investor's addresses were never searched in older mail.
    const hint = await runCli(['sync', '--no-propose'], { env: firm.env });
    expect(hint.stdout).toContain('not yet searched in older mail: run crm-mail rematch --remote');

    const preview = JSON.parse((await runCli(['--json', 'rematch', '--dry-run'], { env: firm.env })).stdout) as { changed: number; linksAdded: number; linksRemoved: number };
    expect(preview.linksAdded).toBeGreaterThan(0);
    expect(preview.linksRemoved).toBe(0);
    const local = await runCli(['rematch', '--investor', String(late.id)], { env: firm.env });
    expect(local.code).toBe(0);
    expect(local.stdout).toContain(`changed ${preview.changed}: ${preview.linksAdded} investor links added, 0 removed`);
    const again = JSON.parse((await runCli(['--json', 'rematch'], { env: firm.env })).stdout) as { changed: number };
    expect(again.changed).toBe(0);

    const remote = await runCli(['--json', 'rematch', '--remote'], { env: firm.env });
    expect(remote.code, remote.stderr).toBe(0);
    const report = JSON.parse(remote.stdout) as { remote: Array<{ account: string; status: string; stored?: number; terms?: number }> };
    expect(report.remote.filter((item) => item.status === 'ok').reduce((total, item) => total + (item.stored ?? 0), 0)).toBeGreaterThan(0);
    const after = firm.open();
    const stored = storedCapture(after);
    const kinds = after.prepare("SELECT count(*) AS n FROM email_sync_runs WHERE kind = 'remote_rematch' AND status = 'ok'").get() as { n: number };
    after.close();
    expect(kinds.n).toBeGreaterThan(0);
    // Now the capture is what it would have been had the investor been there from the start.
    expect(plain(stored.byAccount)).toEqual(plain(expectedCapture(firm.scenario)));
    const nothingLeft = JSON.parse((await runCli(['--json', 'rematch', '--remote'], { env: firm.env })).stdout) as { remote: Array<{ terms?: number }> };
    expect(nothingLeft.remote.every((item) => (item.terms ?? 0) === 0)).toBe(true);
  });

  it('runs the propose step after a successful sync when a drafter is configured', async () => {
    const env = { ...firm.env, CRM_MAIL_DRAFTER: 'rule' };
    const first = await runCli(['sync'], { env });
    expect(first.stdout).toMatch(/propose: 0 notes proposed with the rule drafter/);
    const partner = firm.scenario.partners[1]!.email;
    const contact = firm.scenario.investors.find((investor) => investor.id === late.id)!.contacts[0]!;
    const raw = Buffer.from(
      [`From: ${contact}`, `To: ${partner}`, 'Subject: Re: commitment paperwork', `Date: ${new Date().toUTCString()}`, '', 'We have signed the subscription documents.', ''].join('\r\n'),
    );
    firm.emu.addMessage(partner, raw, { labelIds: ['INBOX'] });
    const second = await runCli(['sync'], { env });
    expect(second.stdout).toMatch(/propose: 1 notes proposed with the rule drafter/);
    const skipped = await runCli(['sync', '--no-propose'], { env });
    expect(skipped.stdout).not.toContain('propose:');
  });

  it('verify reports missing, extra and mismatched mail with examples, and exits 1', async () => {
    const partner = firm.scenario.partners[2]!.email.toLowerCase();
    const db = firm.open();
    const rows = db
      .prepare('SELECT e.id, e.gmail_id FROM emails e JOIN email_accounts a ON a.id = e.account_id WHERE a.email = ? AND e.deleted_at IS NULL ORDER BY e.id LIMIT 3')
      .all(partner) as Array<{ id: number; gmail_id: string }>;
    const [lost, gone, relinked] = rows;
    db.prepare('DELETE FROM emails WHERE id = ?').run(lost!.id);
    const other = db.prepare('SELECT id FROM investors WHERE id NOT IN (SELECT investor_id FROM email_investor_matches WHERE email_id = ?) LIMIT 1').get(relinked!.id) as { id: number };
    db.prepare('UPDATE email_investor_matches SET investor_id = ? WHERE rowid = (SELECT rowid FROM email_investor_matches WHERE email_id = ? LIMIT 1)').run(other.id, relinked!.id);
    db.close();
    firm.emu.deleteMessage(partner, gone!.gmail_id);

    const result = await runCli(['--json', 'verify', '--account', partner], { env: firm.env });
    expect(result.code).toBe(1);
    const report = JSON.parse(result.stdout) as {
      ok: boolean;
      accounts: Array<{ missing: { count: number; examples: Array<{ gmailId: string }> }; extra: { count: number; examples: Array<{ gmailId: string; reason: string }> }; mismatched: { count: number; examples: Array<{ gmailId: string }> } }>;
    };
    expect(report.ok).toBe(false);
    const [account] = report.accounts;
    expect(account!.missing).toMatchObject({ count: 1, examples: [{ gmailId: lost!.gmail_id }] });
    expect(account!.extra).toMatchObject({ count: 1, examples: [{ gmailId: gone!.gmail_id, reason: 'deleted in Gmail, not yet marked deleted here' }] });
    expect(account!.mismatched).toMatchObject({ count: 1, examples: [{ gmailId: relinked!.gmail_id }] });
    const human = await runCli(['verify', '--account', partner], { env: firm.env });
    expect(human.stdout).toContain(`${partner}: DIFFERENCES: `);
    expect(human.stdout).toContain(`  missing ${lost!.gmail_id}: in Gmail, matches an investor, not stored`);

    // --fix repairs all three (and still exits 1: it found something); afterwards verify is clean.
    const fixed = await runCli(['--json', 'verify', '--account', partner, '--fix'], { env: firm.env });
    expect(fixed.code).toBe(1);
    expect((JSON.parse(fixed.stdout) as { accounts: Array<{ fixed: unknown }> }).accounts[0]!.fixed).toEqual({ stored: 1, markedDeleted: 1, relinked: 1 });
    const again = await runCli(['--json', 'verify', '--account', partner], { env: firm.env });
    expect(JSON.parse(again.stdout)).toMatchObject({ ok: true });
    expect(again.code).toBe(0);
  });
});

describe('--quiet under cron', () => {
  it('--quiet (errors only) still prints the line of each failing account, on stderr, and nothing for the others', async () => {
    expect((await runCli(['accounts', 'resume', ghost], { env: firm.env })).code).toBe(0);
    const quiet = await runCli(['--quiet', 'sync', '--no-propose'], { env: firm.env });
    expect(quiet.code).toBe(4);
    expect(quiet.stdout).toBe('');
    const lines = quiet.stderr.trim().split('\n').filter((line) => line.startsWith('error: '));
    expect(lines).toHaveLength(1);
    expect(lines[0]).toMatch(new RegExp(`^error: ${ghost.replace('.', '\\.')} error backfill: .* -- `));
    const verify = await runCli(['--quiet', 'verify'], { env: firm.env });
    expect(verify.code).toBe(4);
    expect(verify.stdout).toBe('');
    expect(verify.stderr).toMatch(new RegExp(`^error: ${ghost.replace('.', '\\.')}: could not verify: `, 'm'));
    expect(verify.stderr).not.toMatch(/: complete: /);
  });
});
