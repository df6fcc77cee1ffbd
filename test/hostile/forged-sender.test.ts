/**
 * Issue 17 item 4: outsiders must not shape approved notes. A forged `From: <partner>` from outside
 * (no SENT label, Gmail's Authentication-Results fail, a forged "pass" header below Gmail's) is a
 * received message, not a "Sent" note; an attacker-chosen display name never reaches the note (names
 * come from the CRM); and review (list, --json and the interactive screen) marks every message whose
 * sender nothing vouches for.
 */
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { execFileSync, spawnSync } from 'node:child_process';
import { join } from 'node:path';
import { tempDir } from '../helpers/tmp.js';
import { BIN, PROJECT_ROOT, runCli } from '../helpers/cli.js';
import { crmMailSettings, startEmulator } from '../../src/emulator/index.js';
import { insertCrmFixture } from '../../src/db/crm.js';
import { openDatabase } from '../../src/db/open.js';
import { senderAuthentication } from '../../src/mail/senderAuth.js';
import { migratedDb } from '../sync/db.js';
import { ANN, JANE, eml, startHostileFirm, type HostileFirm } from '../sync/hostileFirm.js';

const dir = tempDir('crm-mail-forged-');
const BAIT = 'Ann Lee: commitment approved 50M';
const gmailFail = 'Authentication-Results: mx.google.com;\r\n       dkim=none; spf=softfail (google.com: domain of transitioning jane@northwind.vc does not designate 203.0.113.9 as permitted sender) smtp.mailfrom=jane@northwind.vc';
const forgedPass = 'Authentication-Results: mx.google.com; dkim=pass header.i=@northwind.vc; spf=pass smtp.mailfrom=jane@northwind.vc';
const annPass = `Authentication-Results: mx.google.com; dkim=pass header.i=@harborview-pension.com header.s=s1; spf=pass (google.com: domain of ${ANN} designates 198.51.100.7 as permitted sender) smtp.mailfrom=${ANN}`;

const messages = [
  // 1. An outsider writes as Jane: Gmail's own header (topmost) fails; the "pass" below it is the attacker's.
  eml([gmailFail, forgedPass, `From: Jane Doe <${JANE}>`, `To: "${BAIT}" <${ANN}>`, 'Subject: Fund III side letter', 'Date: Mon, 2 Nov 2026 10:00:00 +0000', 'Message-ID: <forged-1@attacker.example>'], 'Please wire the first call to the account below.'),
  // 2. Ann's genuine mail (DKIM passes for her domain) under a display name chosen to read as a note.
  eml([annPass, `From: "${BAIT}" <${ANN}>`, `To: Jane Doe <${JANE}>`, 'Subject: Quarterly update', 'Date: Tue, 3 Nov 2026 10:00:00 +0000', 'Message-ID: <real-2@harborview-pension.com>'], 'Thanks for the call today.'),
  // 3. Someone writes as Ann with no authentication at all.
  eml([`From: Ann Lee <${ANN}>`, `To: ${JANE}`, 'Subject: Change of bank details', 'Date: Wed, 4 Nov 2026 10:00:00 +0000', 'Message-ID: <spoof-3@attacker.example>'], 'Our bank details have changed.'),
];
// 4. Jane's own sent mail: Gmail's SENT label vouches for it.
const sent = eml([`From: Jane Doe <${JANE}>`, `To: "${BAIT}" <${ANN}>`, 'Subject: Deck', 'Date: Thu, 5 Nov 2026 10:00:00 +0000', 'Message-ID: <sent-4@northwind.vc>'], 'Attached is the Fund III deck.');

let firm: HostileFirm;
beforeAll(async () => {
  // Gmail's internalDate: the day each message arrived (Nov 2 to 5), in the order of the proposals.
  const day = (n: number) => Date.parse(`2026-11-0${n}T10:00:00Z`);
  firm = await startHostileFirm(dir, [...messages.map((raw, index) => ({ raw, internalDate: day(index + 2) })), { raw: sent, labelIds: ['SENT'], internalDate: day(5) }]);
  const db = firm.open();
  // The CRM names Ann in the investor's email cell, as real CRMs do.
  db.prepare('UPDATE investors SET email = ? WHERE id = 1').run(`"Ann Lee" <${ANN}>`);
  db.close();
});
afterAll(async () => firm?.stop());

interface Listed {
  id: number;
  messageId: string;
  direction: string;
  note: string;
  unverifiedSender: boolean;
}

describe('mail that claims a sender', () => {
  it('direction from the SENT label, names from the CRM, and unverified senders marked in review list', async () => {
    const sync = await firm.cli(['--json', 'sync']);
    expect(sync.code, sync.stderr).toBe(0);
    const list = await firm.cli(['--json', 'review', 'list']);
    expect(list.code, list.stderr).toBe(0);
    const items = (JSON.parse(list.stdout) as Listed[]).map(({ messageId, direction, note, unverifiedSender }) => ({ messageId, direction, note, unverifiedSender }));
    expect(items).toEqual([
      { messageId: 'forged-1@attacker.example', direction: 'received', note: '2026-11-02 · Received · Jane Doe ↔ Ann Lee: They wrote re "Fund III side letter" — Please wire the first call to the account below.', unverifiedSender: true },
      { messageId: 'real-2@harborview-pension.com', direction: 'received', note: '2026-11-03 · Received · Jane Doe ↔ Ann Lee: They wrote re "Quarterly update" — Thanks for the call today.', unverifiedSender: false },
      { messageId: 'spoof-3@attacker.example', direction: 'received', note: '2026-11-04 · Received · Jane Doe ↔ Ann Lee: They wrote re "Change of bank details" — Our bank details have changed.', unverifiedSender: true },
      { messageId: 'sent-4@northwind.vc', direction: 'sent', note: '2026-11-05 · Sent · Jane Doe ↔ Ann Lee: Wrote re "Deck" — Attached is the Fund III deck.', unverifiedSender: false },
    ]);
    for (const item of items) expect(item.note).not.toContain('approved');

    const text = await firm.cli(['review', 'list']);
    const lines = text.stdout.trim().split('\n');
    expect(lines.map((line) => line.includes('[unverified sender]'))).toEqual([true, false, true, false]);

    const db = firm.open();
    try {
      const copies = db.prepare('SELECT rfc_message_id AS id, sender_auth AS auth FROM emails ORDER BY internal_date_ms').all();
      expect(copies).toEqual([
        { id: 'forged-1@attacker.example', auth: 'none' },
        { id: 'real-2@harborview-pension.com', auth: 'dkim' },
        { id: 'spoof-3@attacker.example', auth: 'none' },
        { id: 'sent-4@northwind.vc', auth: 'sent' },
      ]);
    } finally {
      db.close();
    }
  });

  it('the interactive review warns about the unverified sender before the partner decides', async () => {
    expect(spawnSync('tmux', ['-V']).status, 'tmux must be installed (apt-get install tmux)').toBe(0);
    const socket = `crm-mail-forged-${process.pid}`;
    const tmux = (...args: string[]): string => execFileSync('tmux', ['-L', socket, ...args], { encoding: 'utf8' });
    const command = `${BIN} review --as ${JANE} --db ${firm.dbPath}; sleep 60`;
    tmux('new-session', '-d', '-s', 'review', '-x', '200', '-y', '50', '-c', PROJECT_ROOT, `env -u CRM_MAIL_USER -u CRM_DB_PATH sh -c '${command}'`);
    try {
      let shown = '';
      for (const deadline = Date.now() + 20_000; Date.now() < deadline && !shown.includes('? Decision'); await new Promise((resolve) => setTimeout(resolve, 100))) {
        shown = tmux('capture-pane', '-p', '-J', '-S', '-', '-t', 'review');
      }
      expect(shown).toContain('1 of 4 · proposal #1');
      expect(shown).toContain('Warning:   unverified sender: Gmail recorded no DKIM or SPF pass for the From domain');
      expect(shown).toContain('Contacts:  Ann Lee');
      tmux('send-keys', '-t', 'review', 'q', 'Enter');
    } finally {
      spawnSync('tmux', ['-L', socket, 'kill-server']);
    }
  });
});

describe('senderAuthentication (Gmail\'s Authentication-Results, From domain aligned)', () => {
  it('reads only the topmost Gmail header, and a pass only for the From domain or its registered domain', () => {
    const value = (line: string) => line.replace(/^Authentication-Results:\s*/, '');
    expect(senderAuthentication([value(annPass)], ANN)).toBe('dkim');
    expect(senderAuthentication([value(gmailFail), value(forgedPass)], JANE)).toBe('none');
    // A relay's header above Gmail's is skipped; Gmail's own decides.
    expect(senderAuthentication(['relay.example.net; dkim=pass header.d=northwind.vc', value(forgedPass)], JANE)).toBe('dkim');
    expect(senderAuthentication(['mx.google.com; dkim=pass header.d=mail.harborview-pension.com'], ANN)).toBe('dkim');
    expect(senderAuthentication(['mx.google.com; dkim=pass header.d=attacker.example; spf=pass smtp.mailfrom=bounce@attacker.example'], ANN)).toBe('none');
    expect(senderAuthentication(['mx.google.com; dkim=fail header.d=harborview-pension.com; spf=pass (google.com: ok) smtp.mailfrom=harborview-pension.com'], ANN)).toBe('spf');
    expect(senderAuthentication(['mx.google.com; dmarc=pass header.from=harborview-pension.com'], ANN)).toBe('none');
    expect(senderAuthentication([], ANN)).toBe('none');
    expect(senderAuthentication([value(annPass)], undefined)).toBe('none');
  });
});

describe('a partner\'s mail in a colleague\'s mailbox', () => {
  it('is sent in both mailboxes once the sender\'s SENT copy is stored, and received while only the colleague\'s copy is', async () => {
    const OMAR = 'omar@northwind.vc';
    const raw = eml([`From: Jane Doe <${JANE}>`, `To: ${ANN}`, `Cc: ${OMAR}`, 'Subject: Next steps', 'Date: Fri, 6 Nov 2026 10:00:00 +0000', 'Message-ID: <cc-5@northwind.vc>'], 'Here are the next steps.');
    const internalDate = Date.parse('2026-11-06T10:00:00Z');
    const emu = await startEmulator({ quotaUnitsPerSec: 0, mailboxes: { [OMAR]: [{ raw, labelIds: ['INBOX'], internalDate }], [JANE]: [] } });
    try {
      const dbPath = join(dir, 'two-partners.db');
      const db = await migratedDb(dbPath);
      insertCrmFixture(db, { users: [{ email: JANE, name: 'Jane Doe' }, { email: OMAR, name: 'Omar Haddad' }], investors: [{ id: 1, name: 'Ann Lee', email: `"Ann Lee" <${ANN}>` }] });
      db.close();
      const env = { CRM_DB_PATH: dbPath, ...crmMailSettings(emu), CRM_GMAIL_ATTACHMENTS_DIR: join(dir, 'two-attachments'), NO_PROXY: '127.0.0.1,localhost' };
      expect((await runCli(['enroll-all'], { env })).code).toBe(0);
      const directions = async () => {
        expect((await runCli(['sync', '--no-propose'], { env })).code).toBe(0);
        const check = openDatabase(dbPath);
        try {
          return check.prepare('SELECT a.email AS box, e.direction, e.sender_auth AS auth FROM emails e JOIN email_accounts a ON a.id = e.account_id ORDER BY a.email').all();
        } finally {
          check.close();
        }
      };
      // Only Omar's Cc copy, which nothing authenticates: it could be a forgery, so it is not "sent".
      expect(await directions()).toEqual([{ box: OMAR, direction: 'received', auth: 'none' }]);
      emu.addMessage(JANE, raw, { labelIds: ['SENT'], internalDate });
      expect(await directions()).toEqual([
        { box: JANE, direction: 'sent', auth: 'sent' },
        { box: OMAR, direction: 'sent', auth: 'none' },
      ]);
    } finally {
      await emu.stop();
    }
  });
});
