import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { SCENARIOS } from '../../src/emulator/index.js';
import { runCli } from '../helpers/cli.js';
import { tempDir } from '../helpers/tmp.js';
import { startFirm, type Firm } from '../sync/firm.js';
import { blobFiles, count, referencedBlobs } from './support.js';

const DAY_MS = 24 * 60 * 60 * 1000;
const dir = tempDir('crm-mail-retention-');
let firm: Firm;
let env: Record<string, string>;
/** A retention period that splits the stored mail roughly in half. */
let days: number;
let cutoffMs: number;

beforeAll(async () => {
  firm = await startFirm(dir, { scenario: { ...SCENARIOS.small, seed: 13, messages: 60 } });
  env = { ...firm.env, CRM_MAIL_DRAFTER: 'rule' };
  expect((await runCli(['enroll-all'], { env })).code).toBe(0);
  expect((await runCli(['sync'], { env })).code).toBe(0);
  const db = firm.open();
  const dates = (db.prepare('SELECT internal_date_ms AS ms FROM emails ORDER BY ms').all() as Array<{ ms: number }>).map((row) => row.ms);
  db.close();
  days = Math.ceil((Date.now() - dates[Math.floor(dates.length / 2)]!) / DAY_MS);
  cutoffMs = Date.now() - days * DAY_MS;
}, 120_000);
afterAll(async () => firm?.stop());

describe('purge --older-than', () => {
  it('refuses without an age, and with a bad one', async () => {
    expect((await runCli(['purge'], { env })).code).toBe(2);
    const bad = await runCli(['purge', '--older-than', 'soon'], { env });
    expect(bad.code).toBe(2);
    expect(bad.stderr).toContain('--older-than must be a whole number of days');
  });

  it('--dry-run shows what would be dropped and changes nothing', async () => {
    const files = blobFiles(firm.env.CRM_GMAIL_ATTACHMENTS_DIR!);
    const result = await runCli(['--json', 'purge', '--older-than', String(days), '--dry-run'], { env });
    expect(result.code, result.stderr).toBe(0);
    const json = JSON.parse(result.stdout) as { dryRun: boolean; olderThanDays: number; purged: { copies: number; bodies: number; subjects: number } };
    expect(json).toMatchObject({ dryRun: true, olderThanDays: days, purged: { subjects: 0 } });
    expect(json.purged.copies).toBeGreaterThan(0);
    const db = firm.open();
    expect(count(db, 'SELECT count(*) AS n FROM emails WHERE withheld IS NOT NULL')).toBe(0);
    db.close();
    expect(blobFiles(firm.env.CRM_GMAIL_ATTACHMENTS_DIR!)).toEqual(files);
  });

  it('drops bodies and attachments of older mail (CRM_GMAIL_RETENTION_DAYS); metadata, newer mail and notes stay; a second run does nothing', async () => {
    const db = firm.open();
    const older = count(db, 'SELECT count(*) AS n FROM emails WHERE internal_date_ms < ?', cutoffMs);
    const newerBodies = count(db, 'SELECT count(*) AS n FROM emails WHERE internal_date_ms >= ? AND body_text IS NOT NULL', cutoffMs);
    const subjects = count(db, 'SELECT count(*) AS n FROM emails WHERE subject IS NOT NULL');
    const participants = count(db, 'SELECT count(*) AS n FROM email_participants');
    const matches = count(db, 'SELECT count(*) AS n FROM email_investor_matches');
    db.prepare("INSERT INTO fundraising_state (investor_id, notes) VALUES (?, '2026-01-02 · Sent · Jane ↔ LP: approved earlier')").run(firm.scenario.investors[0]!.id);
    db.close();

    const result = await runCli(['purge'], { env: { ...env, CRM_GMAIL_RETENTION_DAYS: String(days) } });
    expect(result.code, result.stderr).toBe(0);
    expect(result.stdout).toMatch(new RegExp(`^purge: mail received before \\d{4}-\\d{2}-\\d{2} \\(older than ${days} days\\): removed content of \\d+ stored copies`));

    const after = firm.open();
    expect(count(after, 'SELECT count(*) AS n FROM emails WHERE internal_date_ms < ? AND (body_text IS NOT NULL OR snippet IS NOT NULL)', cutoffMs)).toBe(0);
    expect(count(after, 'SELECT count(*) AS n FROM email_attachments a JOIN emails e ON e.id = a.email_id WHERE e.internal_date_ms < ?', cutoffMs)).toBe(0);
    expect(count(after, "SELECT count(*) AS n FROM emails WHERE internal_date_ms < ? AND withheld = 'body' AND withheld_reason = 'retention'", cutoffMs)).toBe(older);
    expect(count(after, 'SELECT count(*) AS n FROM emails WHERE internal_date_ms >= ? AND body_text IS NOT NULL', cutoffMs)).toBe(newerBodies);
    expect(count(after, 'SELECT count(*) AS n FROM emails WHERE subject IS NOT NULL')).toBe(subjects);
    expect(count(after, 'SELECT count(*) AS n FROM email_participants')).toBe(participants);
    expect(count(after, 'SELECT count(*) AS n FROM email_investor_matches')).toBe(matches);
    expect(count(after, "SELECT count(*) AS n FROM fundraising_state WHERE notes LIKE '%approved earlier'")).toBe(1);
    expect(blobFiles(firm.env.CRM_GMAIL_ATTACHMENTS_DIR!)).toEqual(referencedBlobs(after));
    const old = after.prepare('SELECT thread_id AS t FROM emails WHERE internal_date_ms < ? ORDER BY internal_date_ms LIMIT 1').get(cutoffMs) as { t: number };
    after.close();

    const thread = await runCli(['thread', String(old.t)], { env });
    expect(thread.stdout).toContain('(body withheld: older than the retention period)');
    const again = JSON.parse((await runCli(['--json', 'purge', '--older-than', String(days)], { env })).stdout) as { purged: { copies: number } };
    expect(again.purged.copies).toBe(0);
  });
});
