import { beforeAll, describe, expect, it } from 'vitest';
import { join } from 'node:path';
import type { Db } from '../../src/db/open.js';
import { runCli } from '../helpers/cli.js';
import { tempDir } from '../helpers/tmp.js';
import { enroll, makeCrmDb } from './setup.js';
import { foldQuotedHistory, parseSince } from '../../src/cli/commands/threads.js';

const root = tempDir('crm-mail-threads-');
const dbPath = join(root, 'crm.db');
const attachmentsDir = join(root, 'attachments');
const env = { CRM_DB_PATH: dbPath, CRM_GMAIL_ATTACHMENTS_DIR: attachmentsDir };

// A subject and body that try to recolour the terminal, retitle the window (OSC), clear the
// screen, and use a C1 CSI: all must arrive inert.
const HOSTILE_SUBJECT = 'Q4 \u001b[31mcapital call\u001b[0m \u001b]0;pwned\u0007notice\u009b2J';
const HOSTILE_BODY = [
  'Dear Jane,',
  '\u001b[2J\u001b[HPlease find the notice attached.\u001b]8;;http://evil.example\u0007click\u001b]8;;\u0007',
  'Best, Ann',
].join('\r\n');
const QUOTED = Array.from({ length: 12 }, (_, index) => `> quoted line ${index + 1}`);
const REPLY_BODY = ['Thanks Ann, we will wire on Friday.', '', 'On Mon, Nov 2, 2026 at 9:00 AM Ann Lee <ann.lee@harborview-pension.com> wrote:', ...QUOTED].join('\n');
const SHA = 'ab'.repeat(32);

let db: Db;
const ms = (iso: string): number => Date.parse(iso);

function thread(id: number, subject: string, mergedInto: number | null = null): void {
  db.prepare('INSERT INTO email_threads (id, subject, merged_into) VALUES (?, ?, ?)').run(id, subject, mergedInto);
}

function email(fields: {
  account: number;
  gmailId: string;
  thread: number;
  key: string;
  subject: string;
  from: [string, string];
  to: Array<[string, string]>;
  cc?: Array<[string, string]>;
  at: string;
  direction: 'sent' | 'received' | 'internal';
  body?: string | null;
  level?: 'full' | 'metadata';
}): number {
  const people = (list: Array<[string, string]>): string => JSON.stringify(list.map(([address, name]) => ({ address, name })));
  const id = Number(
    db
      .prepare(
        `INSERT INTO emails (account_id, gmail_id, thread_id, message_key, rfc_message_id, subject, from_address, from_name, to_json, cc_json,
                             date_header, internal_date_ms, direction, body_text, content_level)
         VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?)`,
      )
      .run(
        fields.account, fields.gmailId, fields.thread, fields.key, fields.key, fields.subject, fields.from[0], fields.from[1],
        people(fields.to), people(fields.cc ?? []), new Date(ms(fields.at)).toUTCString(), ms(fields.at), fields.direction,
        fields.body ?? null, fields.level ?? 'full',
      ).lastInsertRowid,
  );
  const participant = db.prepare('INSERT OR IGNORE INTO email_participants (email_id, role, address, name) VALUES (?, ?, ?, ?)');
  participant.run(id, 'from', fields.from[0], fields.from[1]);
  for (const [address, name] of fields.to) participant.run(id, 'to', address, name);
  for (const [address, name] of fields.cc ?? []) participant.run(id, 'cc', address, name);
  return id;
}

function match(emailId: number, investorId: number, address: string): void {
  db.prepare("INSERT INTO email_investor_matches (email_id, investor_id, strategy, matched_address) VALUES (?, ?, 'exact', ?)").run(emailId, investorId, address);
}

const ANN: [string, string] = ['ann.lee@harborview-pension.com', 'Ann \u001b[5mLee'];
const JANE: [string, string] = ['jane@northwind.vc', 'Jane Doe'];
const OMAR: [string, string] = ['omar@northwind.vc', 'Omar Haddad'];

beforeAll(async () => {
  db = await makeCrmDb(dbPath);
  const jane = enroll(db, 1, 'jane@northwind.vc');
  const omar = enroll(db, 2, 'omar@northwind.vc');
  thread(1, HOSTILE_SUBJECT);
  thread(2, 'Re: Q4 capital call notice', 1); // merged into 1 when the reply linked the two mailboxes
  thread(3, 'Cedar intro');
  thread(4, 'Lunch?');
  // The notice: in Jane's mailbox and, as a CC, in Omar's (one logical message, two copies).
  const noticeJane = email({ account: jane, gmailId: 'j1', thread: 1, key: '<notice@harborview>', subject: HOSTILE_SUBJECT, from: ANN, to: [JANE], cc: [OMAR], at: '2026-11-02T09:00:00Z', direction: 'received', body: HOSTILE_BODY });
  const noticeOmar = email({ account: omar, gmailId: 'o1', thread: 2, key: '<notice@harborview>', subject: HOSTILE_SUBJECT, from: ANN, to: [JANE], cc: [OMAR], at: '2026-11-02T09:00:01Z', direction: 'received', body: HOSTILE_BODY });
  const reply = email({ account: jane, gmailId: 'j2', thread: 2, key: '<reply@northwind>', subject: 'Re: Q4 capital call notice', from: JANE, to: [ANN], cc: [OMAR], at: '2026-11-03T10:00:00Z', direction: 'sent', body: REPLY_BODY });
  for (const id of [noticeJane, noticeOmar]) {
    match(id, 1, 'ann.lee@harborview-pension.com');
    db.prepare(
      `INSERT INTO email_attachments (email_id, part_id, filename, content_type, size, sha256, storage_path, status)
       VALUES (?, '2', ?, 'application/pdf', 122880, ?, ?, 'stored')`,
    ).run(id, 'Capital call \u001b[31mnotice.pdf', SHA, `ab/ab/${SHA}`);
  }
  match(reply, 1, 'ann.lee@harborview-pension.com');
  // An older conversation with another investor, one message only in metadata.
  const cedar = email({ account: omar, gmailId: 'o2', thread: 3, key: '<cedar@cedarfo>', subject: 'Cedar intro', from: ['maria@cedarfo.com', 'Maria'], to: [OMAR], at: '2026-09-15T12:00:00Z', direction: 'received', body: null, level: 'metadata' });
  match(cedar, 2, 'maria@cedarfo.com');
  // Internal mail matched to nobody: not a conversation with an investor.
  email({ account: jane, gmailId: 'j3', thread: 4, key: '<lunch@northwind>', subject: 'Lunch?', from: JANE, to: [OMAR], at: '2026-11-04T12:00:00Z', direction: 'internal', body: 'Noon?' });
  db.close();
});

function expectInert(text: string): void {
  expect(text).not.toMatch(/[\u0000-\u0008\u000b-\u001f\u007f-\u009f]/);
}

describe('crm-mail threads', () => {
  it('lists conversations with investors, inert, merged threads counted once', async () => {
    // --wide: whole subjects and names, whatever the width (80 columns by default in a pipe).
    const result = await runCli(['threads', '--wide'], { env });
    expect(result.code).toBe(0);
    expectInert(result.stdout);
    expect(result.stdout).toContain('Q4 capital call');
    expect(result.stdout).toContain('Harborview Pension');
    expect(result.stdout).toContain('Cedar intro');
    expect(result.stdout).not.toContain('Lunch?');
    const row = result.stdout.split('\n').find((line) => line.includes('Harborview'))!;
    expect(row).toContain('Jane Doe, Omar Haddad');
    expect(row).toMatch(/│\s+2 │/); // two logical messages (three mailbox copies)
    expect(result.stdout).toContain('2 conversations');
  });

  it('filters by investor name or id and by date, with --json', async () => {
    const byName = await runCli(['--json', 'threads', '--investor', 'cedar'], { env });
    expect(byName.code).toBe(0);
    const page = JSON.parse(byName.stdout) as { total: number; limit: number; truncated: boolean; threads: Array<{ id: number; investors: Array<{ name: string }>; partners: Array<{ address: string }>; messages: number; subject: string }> };
    expect(page).toMatchObject({ total: 1, limit: 50, truncated: false });
    const list = page.threads;
    expect(list.map((item) => item.id)).toEqual([3]);
    const threadsOf = (stdout: string): typeof list => (JSON.parse(stdout) as typeof page).threads;
    const byId = threadsOf((await runCli(['--json', 'threads', '--investor', '1'], { env })).stdout);
    expect(byId.map((item) => item.id)).toEqual([1]);
    expect(byId[0]!.messages).toBe(2);
    expect(byId[0]!.partners.map((partner) => partner.address)).toEqual(['jane@northwind.vc', 'omar@northwind.vc']);
    expectInert(byId[0]!.subject);
    const recent = threadsOf((await runCli(['--json', 'threads', '--since', '2026-10-01'], { env })).stdout);
    expect(recent.map((item) => item.id)).toEqual([1]);
    const all = threadsOf((await runCli(['--json', 'threads', '--all'], { env })).stdout);
    expect(all.map((item) => item.id)).toEqual([4, 1, 3]);
    // A limit that cuts the list says so: how many match, and that these are not all.
    const cut = JSON.parse((await runCli(['--json', 'threads', '--all', '--limit', '2'], { env })).stdout) as typeof page;
    expect(cut).toMatchObject({ total: 3, limit: 2, truncated: true });
    expect(cut.threads.map((item) => item.id)).toEqual([4, 1]);
  });

  it('refuses an unknown investor (exit 7) and a bad date (exit 2)', async () => {
    const unknown = await runCli(['threads', '--investor', 'Nobody Capital'], { env });
    expect(unknown.code).toBe(7);
    expect(unknown.stderr).toContain('no investor matches "Nobody Capital"');
    const badDate = await runCli(['threads', '--since', 'last tuesday'], { env });
    expect(badDate.code).toBe(2);
  });
});

describe('crm-mail thread <id>', () => {
  it('prints the conversation oldest first, inert, quoted history folded, attachments with size and path', async () => {
    const result = await runCli(['thread', '1'], { env });
    expect(result.code).toBe(0);
    expectInert(result.stdout);
    const out = result.stdout;
    // The whole CSI sequence (C1 form included) goes, not just its introducer: no '2J' left behind.
    expect(out).toContain('Thread 1: Q4 capital call notice\n');
    expect(out).toContain('Please find the notice attached.click');
    expect(out.indexOf('Please find the notice')).toBeLessThan(out.indexOf('we will wire on Friday'));
    // One logical message in two mailboxes is shown once, naming both.
    expect(out.match(/^From: /gm)).toHaveLength(2);
    expect(out).toContain('Mailboxes: jane@northwind.vc, omar@northwind.vc');
    expect(out).toContain('From:      Ann Lee <ann.lee@harborview-pension.com>');
    expect(out).toContain('On Mon, Nov 2, 2026 at 9:00 AM Ann Lee <ann.lee@harborview-pension.com> wrote:');
    expect(out).toContain('[12 quoted lines folded]');
    expect(out).not.toContain('> quoted line 1');
    expect(out).toContain(`Capital call notice.pdf  application/pdf  120.0 KB  ${join(attachmentsDir, 'ab', 'ab', SHA)}`);
    expect(out.match(/notice\.pdf/g)).toHaveLength(1);
  });

  it('shows quoted history with --full, follows a merged id, and says when the body was not captured', async () => {
    const full = await runCli(['thread', '2', '--full'], { env });
    expect(full.code).toBe(0);
    expect(full.stdout).toContain('(thread 2 was merged into thread 1)');
    expect(full.stdout).toContain('> quoted line 12');
    const metadata = await runCli(['thread', '3'], { env });
    expect(metadata.stdout).toContain('(headers only: the body was not captured for this message)');
  });

  it('gives an inert JSON document and refuses unknown or malformed ids', async () => {
    const json = await runCli(['--json', 'thread', '1'], { env });
    expect(json.code).toBe(0);
    const detail = JSON.parse(json.stdout) as { id: number; messages: Array<{ body: string; subject: string; attachments: Array<{ filename: string; size: number; path: string }> }> };
    expect(detail.messages).toHaveLength(2);
    for (const message of detail.messages) {
      expectInert(message.subject);
      expectInert(message.body.replace(/\n/g, ''));
    }
    expect(detail.messages[0]!.attachments[0]).toMatchObject({ filename: 'Capital call notice.pdf', size: 122880 });
    expect((await runCli(['thread', '99'], { env })).code).toBe(7);
    expect((await runCli(['thread', 'abc'], { env })).code).toBe(2);
  });
});

describe('crm-mail investor on merged threads', () => {
  it('shows a conversation whose mailbox threads were merged as one thread under its root', async () => {
    const result = await runCli(['--json', 'investor', '1'], { env });
    expect(result.code, result.stderr).toBe(0);
    const timeline = JSON.parse(result.stdout) as { entries: Array<{ kind: string; threadId: number | null; messages: number; direction: string; partners: Array<{ address: string }> }> };
    const threads = timeline.entries.filter((entry) => entry.kind === 'thread');
    expect(threads).toHaveLength(1);
    expect(threads[0]).toMatchObject({ threadId: 1, messages: 2, direction: 'two-way' });
    expect(threads[0]!.partners.map((partner) => partner.address)).toEqual(['jane@northwind.vc', 'omar@northwind.vc']);
  });
});

describe('thread text helpers', () => {
  it('folds runs of quoted lines and Outlook history blocks', () => {
    expect(foldQuotedHistory(['Yes.', '> a', '>', '> b', '', 'Later text'])).toEqual(['Yes.', '[3 quoted lines folded]', '', 'Later text']);
    expect(foldQuotedHistory(['Sure.', '', 'From: Ann Lee', 'Sent: Monday', 'To: Jane', '', 'Old text'])).toEqual(['Sure.', '', '[4 lines of earlier messages folded]']);
    expect(foldQuotedHistory(['> only one'])).toEqual(['[1 quoted line folded]']);
  });

  it('reads --since as a date, an ISO time or days ago', () => {
    const now = Date.parse('2026-11-29T12:00:00Z');
    expect(parseSince('7d', now)).toBe(now - 7 * 86_400_000);
    expect(parseSince('2026-11-01T00:00:00Z', now)).toBe(Date.parse('2026-11-01T00:00:00Z'));
    expect(new Date(parseSince('2026-11-01', now)).getDate()).toBe(1);
    expect(() => parseSince('2026-02-30', now)).toThrow(/--since/);
  });
});

describe('threads and thread against a database the real sync filled', () => {
  // The subject hides ESC and BEL in an RFC 2047 word, so they only appear once the pipeline decodes it.
  const subjectBytes = Buffer.from('Fund III \u001b[31mside letter\u001b[0m \u001b]0;owned\u0007redline', 'utf8').toString('base64');
  const raw = Buffer.from(
    [
      'From: "Ann \u001b[7mLee" <ann.lee@harborview-pension.com>',
      'To: Jane Doe <jane@northwind.vc>',
      'Cc: Omar Haddad <omar@northwind.vc>',
      `Subject: =?UTF-8?B?${subjectBytes}?=`,
      'Date: Tue, 03 Nov 2026 09:00:00 +0000',
      'Message-ID: <side-letter@harborview-pension.com>',
      'MIME-Version: 1.0',
      'Content-Type: text/plain; charset=UTF-8',
      '',
      'Jane, the redline is below.\u001b[2J\u001b]52;c;aGFjaw==\u0007 Please confirm.',
      '',
      '> earlier text 1',
      '> earlier text 2',
      '',
    ].join('\r\n'),
    'latin1',
  );
  const synced = join(root, 'synced');
  const syncedDb = join(synced, 'crm.db');
  let syncEnv: Record<string, string>;
  let stop: () => Promise<void>;

  beforeAll(async () => {
    const { startEmulator, crmMailSettings } = await import('../../src/emulator/index.js');
    const emulator = await startEmulator({
      mailboxes: { 'jane@northwind.vc': [{ raw }], 'omar@northwind.vc': [{ raw }], 'li@northwind.vc': [] },
      keyDir: join(synced, 'key'),
    });
    stop = () => emulator.stop();
    (await makeCrmDb(syncedDb)).close();
    syncEnv = {
      CRM_DB_PATH: syncedDb,
      ...crmMailSettings(emulator),
      CRM_GMAIL_ATTACHMENTS_DIR: join(synced, 'attachments'),
    };
    expect((await runCli(['enroll-all'], { env: syncEnv })).code).toBe(0);
    const sync = await runCli(['sync', '--no-propose'], { env: syncEnv });
    expect(sync.code, sync.stderr).toBe(0);
  });

  it('lists and prints the synced message inert, as one message in two mailboxes', async () => {
    try {
      const list = await runCli(['threads', '--wide'], { env: syncEnv });
      expect(list.code).toBe(0);
      expectInert(list.stdout);
      // However the pipeline cleaned the stored text, what reaches the terminal has no ESC/BEL/C1 left.
      expect(list.stdout).toMatch(/Fund III .*side letter/);
      const [thread] = (JSON.parse((await runCli(['--json', 'threads'], { env: syncEnv })).stdout) as { threads: Array<{ id: number; messages: number; partners: unknown[] }> }).threads;
      expect(thread!.messages).toBe(1);
      expect(thread!.partners).toHaveLength(2);
      const shown = await runCli(['thread', String(thread!.id)], { env: syncEnv });
      expect(shown.code).toBe(0);
      expectInert(shown.stdout);
      expect(shown.stdout).toMatch(/^Subject: {3}Fund III .*side letter.*redline$/m);
      expect(shown.stdout).toMatch(/^Jane, the redline is below\..* Please confirm\.$/m);
      expect(shown.stdout).toContain('[2 quoted lines folded]');
      expect(shown.stdout).toContain('Mailboxes: jane@northwind.vc, omar@northwind.vc');
    } finally {
      await stop();
    }
  });
});
