/**
 * Issue 17 item 1: a header block beyond what mailparser's splitter reads (17,000 Cc recipients, one
 * per folded line, about 600 KB) is still read: the message is stored with its investor match and a
 * problem, and verify has nothing missing.
 */
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { parseRaw } from '../../src/mail/parse.js';
import { tempDir } from '../helpers/tmp.js';
import { ANN, JANE, eml, startHostileFirm, type HostileFirm } from '../sync/hostileFirm.js';

const dir = tempDir('crm-mail-bighdr-');
let firm: HostileFirm;
const cc = Array.from({ length: 17_000 }, (_, i) => `Person ${i} <person${i}@crowd.example.org>`).join(',\r\n ');
// The investor is the 17,000th recipient: Gmail's search finds the message, the bounded read does not.
const crowd = Array.from({ length: 17_000 }, (_, i) => (i === 16_999 ? `Ann Lee <${ANN}>` : `Person ${i} <person${i}@crowd.example.org>`)).join(',\r\n ');
const hidden = eml(['From: Organiser <host@crowd.example.org>', `To: ${JANE}`, `Cc: ${crowd}`, 'Subject: Summit list', 'Date: Mon, 2 Nov 2026 11:00:00 +0000', 'Message-ID: <crowd-2@crowd.example.org>'], 'Summit.');
const raw = eml([`From: Ann Lee <${ANN}>`, `To: ${JANE}`, `Cc: ${cc}`, 'Subject: Fund III, all hands', 'Date: Mon, 2 Nov 2026 10:00:00 +0000', 'Message-ID: <crowd-1@harborview-pension.com>'], 'We commit 10M to Fund III.');

beforeAll(async () => {
  firm = await startHostileFirm(dir, [{ raw }, { raw: hidden }]);
});
afterAll(async () => firm?.stop());

describe('a header block too big for the parser', () => {
  it('is read by the bounded fallback: sender, subject, the first addresses, and a problem', async () => {
    const message = await parseRaw(raw);
    expect(message.from?.address).toBe(ANN);
    expect(message.subject).toBe('Fund III, all hands');
    expect(message.messageKey).toBe('crowd-1@harborview-pension.com');
    expect(message.cc.length).toBeGreaterThan(100);
    expect(message.cc.length).toBeLessThan(17_000);
    expect(message.text).toBe('We commit 10M to Fund III.');
    expect(message.problems.join(' ')).toMatch(/headers: .*first \d+ of 17000 cc addresses/);
  });

  it('is stored and matched by sync; verify counts the message it could not read in full', async () => {
    const sync = await firm.cli(['--json', 'sync']);
    expect(sync.code, sync.stderr).toBe(0);
    const db = firm.open();
    try {
      const rows = db.prepare('SELECT rfc_message_id AS id, parse_problems AS problems FROM emails').all() as Array<{ id: string; problems: string }>;
      expect(rows.map((row) => row.id)).toEqual(['crowd-1@harborview-pension.com']);
      expect(rows[0]!.problems).toMatch(/headers:/);
      expect(db.prepare('SELECT count(*) AS n FROM email_activity_proposals').get()).toEqual({ n: 1 });
    } finally {
      db.close();
    }
    const verify = await firm.cli(['--json', 'verify']);
    expect(verify.code, verify.stdout + verify.stderr).toBe(1);
    const report = JSON.parse(verify.stdout) as { accounts: Array<{ ok: boolean; missing: { count: number }; unparsed: { count: number; examples: Array<{ reason: string }> } }> };
    expect(report.accounts[0]).toMatchObject({ ok: false, missing: { count: 0 }, unparsed: { count: 1 } });
    expect(report.accounts[0]!.unparsed.examples[0]!.reason).toMatch(/first 500 of 17000 cc addresses/);
    const text = await firm.cli(['verify']);
    expect(text.stdout).toMatch(/could not read 1/);
  });
});
