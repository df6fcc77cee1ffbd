import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { SCENARIOS } from '../../src/emulator/index.js';
import { runCli } from '../helpers/cli.js';
import { tempDir } from '../helpers/tmp.js';
import { startFirm, type Firm } from '../sync/firm.js';
import { blobFiles, copiesAtDomain, count, emptyThreads, referencedBlobs } from './support.js';

const dir = tempDir('crm-mail-exclude-');
let firm: Firm;
let env: Record<string, string>;
/** The investor domain excluded: the one whose stored mail holds the most attachments. */
let victim: string;
let partner: string;

interface PurgedJson {
  copies: number;
  messages: number;
  participants: number;
  matches: number;
  attachments: number;
  files: number;
  threadsRemoved: number;
  proposalsWithdrawn: number;
  approvedNotesKept: number;
}

beforeAll(async () => {
  firm = await startFirm(dir, { scenario: { ...SCENARIOS.small, seed: 5, messages: 60 } });
  env = { ...firm.env, CRM_MAIL_DRAFTER: 'rule', CRM_MAIL_USER: 'admin@northwind.vc' };
  partner = firm.scenario.partners[0]!.email.toLowerCase();
  expect((await runCli(['enroll-all'], { env })).code).toBe(0);
  expect((await runCli(['sync'], { env })).code).toBe(0);
  expect((await runCli(['propose', '--since', '2000-01-01', '--force', '--limit', '1000'], { env })).code).toBe(0);
  const db = firm.open();
  const domains = firm.scenario.investors.flatMap((investor) => investor.domains);
  const withFiles = domains
    .map((domain) => ({
      domain,
      files: count(
        db,
        `SELECT count(*) AS n FROM email_attachments a WHERE a.status = 'stored' AND a.email_id IN
           (SELECT email_id FROM email_participants WHERE lower(address) LIKE ?)`,
        `%@${domain}`,
      ),
      proposals: count(db, `SELECT count(DISTINCT p.id) AS n FROM email_activity_proposals p JOIN emails e ON e.message_key = p.message_key JOIN email_participants x ON x.email_id = e.id WHERE lower(x.address) LIKE ?`, `%@${domain}`),
    }))
    .filter((item) => item.files > 0 && item.proposals >= 2)
    .sort((a, b) => b.files - a.files);
  victim = withFiles[0]!.domain;
  db.close();
  // One proposal from the victim's mail is approved before the exclusion: its note must stay.
  const pending = JSON.parse((await runCli(['--json', 'review', 'list'], { env })).stdout) as Array<{ id: number; messageKey: string }>;
  const db2 = firm.open();
  const fromVictim = pending.filter((proposal) =>
    count(db2, 'SELECT count(*) AS n FROM emails e JOIN email_participants x ON x.email_id = e.id WHERE e.message_key = ? AND lower(x.address) LIKE ?', proposal.messageKey, `%@${victim}`) > 0,
  );
  db2.close();
  expect(fromVictim.length).toBeGreaterThanOrEqual(2);
  expect((await runCli(['review', 'approve', String(fromVictim[0]!.id), '--as', partner], { env })).code).toBe(0);
}, 120_000);
afterAll(async () => firm?.stop());

describe('exclude add / list / remove', () => {
  it('refuses the firm, an enrolled mailbox and a personal-mail provider, and changes nothing', async () => {
    for (const bad of [firm.emu.domain, partner, 'gmail.com', 'not an address']) {
      const result = await runCli(['exclude', 'add', bad], { env });
      expect(result.code, bad).toBe(2);
      expect(result.stderr).toMatch(/crm-mail: /);
    }
    const db = firm.open();
    expect(count(db, 'SELECT count(*) AS n FROM email_exclusions')).toBe(0);
    db.close();
  });

  it('--dry-run shows what would be purged and changes nothing', async () => {
    const db = firm.open();
    const before = { emails: count(db, 'SELECT count(*) AS n FROM emails'), files: blobFiles(firm.env.CRM_GMAIL_ATTACHMENTS_DIR!).length };
    db.close();
    const result = await runCli(['--json', 'exclude', 'add', `mail.${victim}`, '--reason', 'outside counsel', '--dry-run'], { env });
    expect(result.code).toBe(0);
    const json = JSON.parse(result.stdout) as { dryRun: boolean; pattern: string; widenedFrom: string; added: boolean; purged: PurgedJson };
    expect(json).toMatchObject({ dryRun: true, pattern: victim, widenedFrom: `mail.${victim}`, added: true });
    expect(json.purged.copies).toBeGreaterThan(0);
    expect(json.purged.files).toBeGreaterThan(0);
    expect(json.purged.proposalsWithdrawn).toBeGreaterThan(0);
    expect(json.purged.approvedNotesKept).toBe(1);
    const human = await runCli(['exclude', 'add', victim, '--dry-run'], { env });
    expect(human.stdout).toContain(`would exclude domain ${victim}`);
    expect(human.stdout).toContain(`would remove ${json.purged.copies} stored copies`);
    const after = firm.open();
    expect(count(after, 'SELECT count(*) AS n FROM emails')).toBe(before.emails);
    expect(count(after, 'SELECT count(*) AS n FROM email_exclusions')).toBe(0);
    expect(count(after, "SELECT count(*) AS n FROM email_activity_proposals WHERE status = 'withdrawn'")).toBe(0);
    after.close();
    expect(blobFiles(firm.env.CRM_GMAIL_ATTACHMENTS_DIR!)).toHaveLength(before.files);
  });

  it('purges every stored copy the exclusion refuses; other mail, approved notes and shared files stay', async () => {
    const db = firm.open();
    const others = count(db, 'SELECT count(*) AS n FROM emails') - copiesAtDomain(db, victim);
    const notesBefore = db.prepare('SELECT investor_id, notes FROM fundraising_state ORDER BY investor_id').all();
    const approvedBefore = count(db, "SELECT count(*) AS n FROM email_activity_proposals WHERE status = 'approved'");
    db.close();
    const dry = JSON.parse((await runCli(['--json', 'exclude', 'add', victim, '--dry-run'], { env })).stdout) as { purged: PurgedJson };

    const result = await runCli(['--json', 'exclude', 'add', victim, '--reason', 'outside counsel'], { env });
    expect(result.code).toBe(0);
    const json = JSON.parse(result.stdout) as { added: boolean; addedBy: string; purged: PurgedJson };
    expect(json.added).toBe(true);
    expect(json.addedBy).toBe('admin@northwind.vc');
    expect(json.purged).toEqual(dry.purged);

    const after = firm.open();
    expect(copiesAtDomain(after, victim)).toBe(0);
    expect(count(after, 'SELECT count(*) AS n FROM emails')).toBe(others);
    expect(count(after, 'SELECT count(*) AS n FROM email_investor_matches WHERE email_id NOT IN (SELECT id FROM emails)')).toBe(0);
    expect(emptyThreads(after)).toBe(0);
    expect(count(after, 'SELECT count(*) AS n FROM email_thread_keys k WHERE NOT EXISTS (SELECT 1 FROM email_threads t WHERE t.id = k.thread_id)')).toBe(0);
    // Files: exactly the referenced ones remain, and every referenced one is there.
    expect(blobFiles(firm.env.CRM_GMAIL_ATTACHMENTS_DIR!)).toEqual(referencedBlobs(after));
    expect(count(after, 'SELECT count(*) AS n FROM email_blob_removals')).toBe(0);
    // Proposals: pending ones from the purged mail withdrawn with a reason, the approved one and its note untouched.
    expect(count(after, "SELECT count(*) AS n FROM email_activity_proposals WHERE status = 'withdrawn' AND withdrawn_reason = ?", `domain ${victim} excluded`)).toBe(json.purged.proposalsWithdrawn);
    expect(count(after, "SELECT count(*) AS n FROM email_activity_proposals WHERE status = 'approved'")).toBe(approvedBefore);
    expect(after.prepare('SELECT investor_id, notes FROM fundraising_state ORDER BY investor_id').all()).toEqual(notesBefore);
    after.close();

    const withdrawn = JSON.parse((await runCli(['--json', 'review', 'list', '--status', 'withdrawn'], { env })).stdout) as Array<{ id: number; withdrawnReason: string }>;
    expect(withdrawn).toHaveLength(json.purged.proposalsWithdrawn);
    const refused = await runCli(['review', 'approve', String(withdrawn[0]!.id), '--as', partner], { env });
    expect(refused.code).toBe(8);
    expect(refused.stderr).toContain('was withdrawn');
  });

  it('verify still reports complete, and a later sync does not bring the mail back', async () => {
    const verify = await runCli(['--json', 'verify'], { env });
    expect(verify.code, verify.stderr).toBe(0);
    expect((JSON.parse(verify.stdout) as { ok: boolean }).ok).toBe(true);
    expect((await runCli(['sync'], { env })).code).toBe(0);
    const db = firm.open();
    expect(copiesAtDomain(db, victim)).toBe(0);
    db.close();
  });

  it('lists the database and environment exclusions; an environment one cannot be removed from the CLI', async () => {
    const withEnv = { ...env, CRM_GMAIL_EXCLUDE: 'spouse@example.org' };
    const json = JSON.parse((await runCli(['--json', 'exclude', 'list'], { env: withEnv })).stdout) as { exclusions: Array<Record<string, unknown>> };
    expect(json.exclusions).toEqual([
      { pattern: 'spouse@example.org', kind: 'address', source: 'environment', reason: null, addedBy: null, addedAt: null },
      expect.objectContaining({ pattern: victim, kind: 'domain', source: 'database', reason: 'outside counsel', addedBy: 'admin@northwind.vc' }),
    ]);
    const doctor = JSON.parse((await runCli(['--json', 'doctor'], { env: withEnv })).stdout) as Array<{ name: string; level: string; message: string }>;
    expect(doctor.find((line) => line.name === 'exclusions')).toMatchObject({ level: 'OK', message: `2 in force: spouse@example.org (environment), ${victim} (by admin@northwind.vc)` });
    const human = await runCli(['exclude', 'list'], { env: withEnv });
    expect(human.stdout).toContain('environment (CRM_GMAIL_EXCLUDE)');
    const refused = await runCli(['exclude', 'remove', 'spouse@example.org'], { env: withEnv });
    expect(refused.code).toBe(2);
    expect(refused.stderr).toContain('CRM_GMAIL_EXCLUDE');
    expect((await runCli(['exclude', 'remove', 'nobody@example.org'], { env })).code).toBe(7);
  });

  it('remove --dry-run changes nothing; remove says rematch --remote brings the mail back, and it does', async () => {
    const dry = await runCli(['--json', 'exclude', 'remove', victim, '--dry-run'], { env });
    expect(JSON.parse(dry.stdout)).toMatchObject({ dryRun: true, pattern: victim, removed: true });
    const db = firm.open();
    expect(count(db, 'SELECT count(*) AS n FROM email_exclusions')).toBe(1);
    db.close();
    const removed = await runCli(['exclude', 'remove', victim], { env });
    expect(removed.code).toBe(0);
    expect(removed.stdout).toContain('crm-mail rematch --remote');
    expect((await runCli(['rematch', '--remote'], { env })).code).toBe(0);
    // The sync downloads the attachments of the mail that came back.
    expect((await runCli(['sync'], { env })).code).toBe(0);
    const back = firm.open();
    expect(copiesAtDomain(back, victim)).toBeGreaterThan(0);
    back.close();
  });

  it('a process killed between the commit and the file removal leaves no orphan file after the next run', async () => {
    const files = blobFiles(firm.env.CRM_GMAIL_ATTACHMENTS_DIR!).length;
    const killed = await runCli(['exclude', 'add', victim], { env: { ...env, CRM_MAIL_TEST_KILL_AFTER_PURGE_COMMIT: '1' } });
    expect(killed.code).not.toBe(0);
    const db = firm.open();
    // Committed: the rows are gone, the files still there, queued for removal.
    expect(copiesAtDomain(db, victim)).toBe(0);
    const queued = count(db, 'SELECT count(*) AS n FROM email_blob_removals');
    expect(queued).toBeGreaterThan(0);
    expect(blobFiles(firm.env.CRM_GMAIL_ATTACHMENTS_DIR!)).toHaveLength(files);
    const doctor = JSON.parse((await runCli(['--json', 'doctor'], { env })).stdout) as Array<{ name: string; level: string; message: string }>;
    expect(doctor.find((line) => line.name === 'sharing')?.level).toBe('WARN');
    for (const sha of referencedBlobs(db)) expect(blobFiles(firm.env.CRM_GMAIL_ATTACHMENTS_DIR!)).toContain(sha);
    db.close();
    expect((await runCli(['sync'], { env })).code).toBe(0);
    const after = firm.open();
    expect(count(after, 'SELECT count(*) AS n FROM email_blob_removals')).toBe(0);
    expect(blobFiles(firm.env.CRM_GMAIL_ATTACHMENTS_DIR!)).toEqual(referencedBlobs(after));
    after.close();
  });
});
