/**
 * Issue 17 item 12 (crm-mail side): an internalDate that is not whole milliseconds (what the
 * emulator's --mailbox folders once sent from file times) or not a number at all is read as best it
 * can be and recorded as a problem; it is never stored as 0 (1970, never proposed) without a word.
 */
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { parseGmailMessage, readInternalDate } from '../../src/mail/parse.js';
import { tempDir } from '../helpers/tmp.js';
import { ANN, JANE, eml, startHostileFirm, type HostileFirm } from '../sync/hostileFirm.js';

const dir = tempDir('crm-mail-idate-');
let firm: HostileFirm;
const AT = 1_764_750_000_123;

beforeAll(async () => {
  // No Date header: internalDate is the only time the message has.
  firm = await startHostileFirm(dir, [{ raw: eml([`From: Ann Lee <${ANN}>`, `To: ${JANE}`, 'Subject: Fund III', 'Message-ID: <frac@harborview-pension.com>'], 'We commit 10M.'), internalDate: AT + 0.456 }]);
});
afterAll(async () => firm?.stop());

describe('a fractional or malformed internalDate', () => {
  it('is stored as its whole milliseconds, with a problem, and proposed', async () => {
    const sync = await firm.cli(['--json', 'sync']);
    expect(sync.code, sync.stderr).toBe(0);
    const db = firm.open();
    try {
      const row = db.prepare('SELECT internal_date_ms AS ms, parse_problems AS problems FROM emails').get() as { ms: number; problems: string };
      expect(row.ms).toBe(AT);
      expect(row.problems).toContain('is not whole milliseconds');
      const proposed = db.prepare('SELECT count(*) AS n FROM email_activity_proposals').get() as { n: number };
      expect(proposed.n).toBe(1);
    } finally {
      db.close();
    }
  });

  it('is read as best it can be: floor of a decimal, nothing (with a problem) for text', async () => {
    expect(readInternalDate('1764750000123')).toEqual({ ms: AT });
    expect(readInternalDate('1764750000123.999')).toMatchObject({ ms: AT, problem: expect.stringContaining('not whole milliseconds') });
    expect(readInternalDate(AT + 0.5)).toMatchObject({ ms: AT });
    expect(readInternalDate('soon')).toEqual({ problem: expect.stringContaining('is not a time') });
    expect(readInternalDate('-5').ms).toBeUndefined();
    const dated = await parseGmailMessage({ id: 'a', internalDate: 'soon', raw: eml(['From: x@y.com', 'Date: Mon, 2 Nov 2026 10:00:00 +0000'], 'hi').toString('base64url') });
    expect(dated.internalDateMs).toBeUndefined();
    expect(dated.sentMs).toBe(Date.UTC(2026, 10, 2, 10));
    expect(dated.problems.some((problem) => problem.startsWith('internalDate:'))).toBe(true);
    const undated = await parseGmailMessage({ id: 'b', internalDate: 'soon', raw: eml(['From: x@y.com'], 'hi').toString('base64url') });
    expect(undated.problems).toContain('date: neither internalDate nor a Date header gives a time; stored as 1970-01-01, before any proposal cutoff');
  });
});
