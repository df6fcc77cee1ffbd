import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { SCENARIOS } from '../../src/emulator/index.js';
import { runCli } from '../helpers/cli.js';
import { tempDir } from '../helpers/tmp.js';
import { startFirm, type Firm } from '../sync/firm.js';
import { blobFiles, count, referencedBlobs } from './support.js';

const dir = tempDir('crm-mail-share-');
let firm: Firm;
let env: Record<string, string>;
/** The mailbox lowered to metadata, and one that stays at full and shares messages with it. */
let lowered: string;
let other: string;
let files: string;

function newInvestorMail(to: string, from: string, n: number): Buffer {
  const boundary = `b${n}`;
  return Buffer.from(
    [
      `From: Investor <${from}>`,
      `To: ${to}`,
      `Subject: Secret term sheet ${n}`,
      `Message-ID: <share-${n}@example.test>`,
      `Date: ${new Date().toUTCString()}`,
      'MIME-Version: 1.0',
      `Content-Type: multipart/mixed; boundary="${boundary}"`,
      '',
      `--${boundary}`,
      'Content-Type: text/plain; charset=utf-8',
      '',
      'The valuation we discussed is confidential.',
      `--${boundary}`,
      'Content-Type: application/pdf; name="terms.pdf"',
      'Content-Disposition: attachment; filename="terms.pdf"',
      'Content-Transfer-Encoding: base64',
      '',
      Buffer.from(`confidential terms ${n}`).toString('base64'),
      `--${boundary}--`,
      '',
    ].join('\r\n'),
  );
}

beforeAll(async () => {
  firm = await startFirm(dir, { scenario: { ...SCENARIOS.small, seed: 9, messages: 60 } });
  env = { ...firm.env, CRM_MAIL_DRAFTER: 'rule', CRM_MAIL_USER: 'jane.owner@northwind.vc' };
  files = firm.env.CRM_GMAIL_ATTACHMENTS_DIR!;
  expect((await runCli(['enroll-all'], { env })).code).toBe(0);
  expect((await runCli(['sync'], { env })).code).toBe(0);
  expect((await runCli(['propose', '--since', '2000-01-01', '--force', '--limit', '1000'], { env })).code).toBe(0);
  // The pair of mailboxes that hold the most messages in common, the first of which has attachments.
  const db = firm.open();
  const pairs = db
    .prepare(
      `SELECT a.email AS lowered, b.email AS other, count(*) AS n FROM emails x JOIN emails y ON y.message_key = x.message_key AND y.account_id <> x.account_id
         JOIN email_accounts a ON a.id = x.account_id JOIN email_accounts b ON b.id = y.account_id
        WHERE EXISTS (SELECT 1 FROM email_attachments t WHERE t.email_id = x.id AND t.status = 'stored')
        GROUP BY a.id, b.id ORDER BY n DESC`,
    )
    .all() as Array<{ lowered: string; other: string; n: number }>;
  db.close();
  expect(pairs.length).toBeGreaterThan(0);
  ({ lowered, other } = pairs[0]!);
}, 120_000);
afterAll(async () => firm?.stop());

const accountId = (db: ReturnType<Firm['open']>, email: string): number => (db.prepare('SELECT id FROM email_accounts WHERE email = ?').get(email) as { id: number }).id;

describe('accounts share', () => {
  it('refuses an unknown level or mailbox and changes nothing', async () => {
    expect((await runCli(['accounts', 'share', lowered, 'everything'], { env })).code).toBe(2);
    expect((await runCli(['accounts', 'share', 'nobody@northwind.vc', 'metadata'], { env })).code).toBe(7);
    const accounts = JSON.parse((await runCli(['--json', 'accounts'], { env })).stdout) as Array<{ email: string; sharing: string }>;
    expect(accounts.every((account) => account.sharing === 'full')).toBe(true);
  });

  it('--dry-run shows what metadata would remove and changes nothing', async () => {
    const before = blobFiles(files);
    const result = await runCli(['--json', 'accounts', 'share', lowered, 'metadata', '--dry-run'], { env });
    expect(result.code).toBe(0);
    const json = JSON.parse(result.stdout) as { dryRun: boolean; from: string; level: string; purged: { copies: number; bodies: number; subjects: number; files: number } };
    expect(json).toMatchObject({ dryRun: true, from: 'full', level: 'metadata' });
    expect(json.purged.copies).toBeGreaterThan(0);
    expect(json.purged.subjects).toBeGreaterThan(0);
    const db = firm.open();
    expect(count(db, 'SELECT count(*) AS n FROM emails WHERE account_id = ? AND withheld IS NOT NULL', accountId(db, lowered))).toBe(0);
    expect(count(db, "SELECT count(*) AS n FROM email_accounts WHERE share_level <> 'full'")).toBe(0);
    db.close();
    expect(blobFiles(files)).toEqual(before);
  });

  it('lowering full to metadata drops subjects, bodies and files of that mailbox, unless a mailbox at full holds the same message', async () => {
    const db = firm.open();
    const id = accountId(db, lowered);
    const otherId = accountId(db, other);
    const shared = (db.prepare('SELECT DISTINCT x.message_key AS k FROM emails x JOIN emails y ON y.message_key = x.message_key WHERE x.account_id = ? AND y.account_id = ?').all(id, otherId) as Array<{ k: string }>).map((row) => row.k);
    const otherBodies = count(db, 'SELECT count(*) AS n FROM emails WHERE account_id = ? AND body_text IS NOT NULL', otherId);
    const otherFiles = (db.prepare("SELECT DISTINCT a.sha256 AS s FROM email_attachments a JOIN emails e ON e.id = a.email_id WHERE e.account_id <> ? AND a.status = 'stored'").all(id) as Array<{ s: string }>).map((row) => row.s);
    db.close();
    expect(shared.length).toBeGreaterThan(0);

    const result = await runCli(['accounts', 'share', lowered, 'metadata'], { env });
    expect(result.code, result.stderr).toBe(0);
    expect(result.stdout).toContain(`${lowered} shares metadata (was full), set by jane.owner@northwind.vc`);
    expect(result.stdout).toMatch(/^removed content of \d+ stored copies/m);

    const after = firm.open();
    expect(count(after, 'SELECT count(*) AS n FROM emails WHERE account_id = ? AND (subject IS NOT NULL OR body_text IS NOT NULL OR snippet IS NOT NULL)', id)).toBe(0);
    expect(count(after, 'SELECT count(*) AS n FROM email_attachments a JOIN emails e ON e.id = a.email_id WHERE e.account_id = ?', id)).toBe(0);
    expect(count(after, "SELECT count(*) AS n FROM emails WHERE account_id = ? AND (withheld <> 'subject' OR withheld_reason <> 'sharing')", id)).toBe(0);
    // Headers and participants stay.
    expect(count(after, 'SELECT count(*) AS n FROM emails e WHERE account_id = ? AND NOT EXISTS (SELECT 1 FROM email_participants p WHERE p.email_id = e.id)', id)).toBe(0);
    // The mailbox at full keeps its bodies and its files; files only the lowered mailbox used are gone.
    expect(count(after, 'SELECT count(*) AS n FROM emails WHERE account_id = ? AND body_text IS NOT NULL', otherId)).toBe(otherBodies);
    const left = blobFiles(files);
    for (const sha of otherFiles) expect(left).toContain(sha);
    expect(left).toEqual(referencedBlobs(after));
    expect(after.prepare('SELECT share_level AS level, share_set_by AS setBy FROM email_accounts WHERE id = ?').get(id)).toEqual({ level: 'metadata', setBy: 'jane.owner@northwind.vc' });
    const doctor = JSON.parse((await runCli(['--json', 'doctor'], { env })).stdout) as Array<{ name: string; level: string; message: string }>;
    expect(doctor.find((line) => line.name === 'sharing')?.message).toContain(`${lowered} metadata (set by jane.owner@northwind.vc `);
    expect(doctor.find((line) => line.name === 'sharing')?.message).toContain(`${other} full`);
    // A thread both mailboxes hold shows its subject and body (from the copy at full).
    const threadId = (after.prepare('SELECT thread_id AS t FROM emails WHERE account_id = ? AND message_key = ?').get(otherId, shared[0]!) as { t: number }).t;
    after.close();
    const thread = JSON.parse((await runCli(['--json', 'thread', String(threadId)], { env })).stdout) as { subject: string | null; messages: Array<{ messageKey: string; subject: string | null; body: string | null; withheld: string[] }> };
    const message = thread.messages.find((item) => item.messageKey === shared[0]);
    expect(message?.subject).not.toBeNull();
    expect(message?.withheld).toEqual([]);
  });

  it('new mail is captured at the mailbox level; threads and thread show it as withheld; its proposal is drafted from what is stored', async () => {
    const investor = firm.scenario.investors.find((item) => item.domains.length > 0)!;
    firm.emu.addMessage(lowered, newInvestorMail(lowered, `new.contact@${investor.domains[0]}`, 1));
    expect((await runCli(['sync'], { env })).code).toBe(0);
    const db = firm.open();
    const row = db.prepare("SELECT id, thread_id AS threadId, subject, body_text AS body, snippet, withheld FROM emails WHERE rfc_message_id LIKE '%share-1@example.test%'").get() as {
      id: number;
      threadId: number;
      subject: string | null;
      body: string | null;
      snippet: string | null;
      withheld: string;
    };
    expect(row).toMatchObject({ subject: null, body: null, snippet: null, withheld: 'subject' });
    expect(count(db, 'SELECT count(*) AS n FROM email_attachments WHERE email_id = ?', row.id)).toBe(0);
    expect(count(db, 'SELECT count(*) AS n FROM email_threads WHERE id = ? AND subject IS NOT NULL', row.threadId)).toBe(0);
    const proposal = db.prepare("SELECT drafted_note AS note, drafter FROM email_activity_proposals WHERE message_key LIKE '%share-1@example.test%'").get() as { note: string; drafter: string };
    db.close();
    expect(proposal.drafter).toBe('metadata');
    expect(proposal.note).toContain('They wrote (content not shared by the mailbox)');
    expect(proposal.note).not.toContain('term sheet');

    const human = await runCli(['thread', String(row.threadId)], { env });
    expect(human.stdout).toContain("Subject:   (withheld: the mailbox's sharing level does not include it)");
    expect(human.stdout).toContain("(body withheld: the mailbox's sharing level does not include it)");
    expect(human.stdout).not.toContain('confidential');
    const json = JSON.parse((await runCli(['--json', 'thread', String(row.threadId)], { env })).stdout) as { messages: Array<{ withheld: string[]; withheldReason: string }> };
    expect(json.messages[0]).toMatchObject({ withheld: ['subject', 'body', 'attachments'], withheldReason: 'sharing' });
    const list = (JSON.parse((await runCli(['--json', 'threads', '--limit', '500'], { env })).stdout) as { threads: Array<{ id: number; subjectWithheld: boolean }> }).threads;
    expect(list.find((item) => item.id === row.threadId)?.subjectWithheld).toBe(true);
  });

  it('subject keeps the subject of new mail; raising the level records it and touches nothing stored', async () => {
    const raised = await runCli(['--json', 'accounts', 'share', lowered, 'subject'], { env });
    expect(JSON.parse(raised.stdout)).toMatchObject({ from: 'metadata', level: 'subject', purged: { copies: 0 } });
    const investor = firm.scenario.investors.find((item) => item.domains.length > 0)!;
    firm.emu.addMessage(lowered, newInvestorMail(lowered, `new.contact@${investor.domains[0]}`, 2));
    expect((await runCli(['sync'], { env })).code).toBe(0);
    const db = firm.open();
    expect(db.prepare("SELECT subject, body_text AS body, withheld FROM emails WHERE rfc_message_id LIKE '%share-2@example.test%'").get()).toEqual({ subject: 'Secret term sheet 2', body: null, withheld: 'body' });
    expect(count(db, "SELECT count(*) AS n FROM emails WHERE rfc_message_id LIKE '%share-1@example.test%' AND subject IS NULL")).toBe(1);
    db.close();
  });
});
