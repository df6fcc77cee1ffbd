/**
 * Issue 17 item 3: a mailing-list copy of an investor's message (same Message-ID, List-Id, a footer)
 * sits beside the direct copy. Bulk is decided per copy, so the direct copy is proposed; the two
 * copies stay two rows and, since their text differs, both are flagged.
 */
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { tempDir } from '../helpers/tmp.js';
import { ANN, JANE, eml, startHostileFirm, type HostileFirm } from '../sync/hostileFirm.js';

const dir = tempDir('crm-mail-bulkcopy-');
let firm: HostileFirm;
const headers = [`From: Ann Lee <${ANN}>`, `To: ${JANE}, lp-list@lists.example.org`, 'Subject: Fund III commitment', 'Date: Mon, 2 Nov 2026 10:00:00 +0000', 'Message-ID: <commit-1@harborview-pension.com>'];

beforeAll(async () => {
  firm = await startHostileFirm(dir, [
    { raw: eml(headers, 'We commit 10M to Fund III.') },
    { raw: eml([...headers, 'List-Id: LP updates <lp-list.lists.example.org>', 'List-Unsubscribe: <mailto:leave@lists.example.org>', 'Precedence: list'], 'We commit 10M to Fund III.\r\n\r\n--\r\nYou receive this because you joined lp-list. Unsubscribe: leave@lists.example.org') },
  ]);
});
afterAll(async () => firm?.stop());

describe('a bulk-looking copy beside the person-to-person one', () => {
  it('does not suppress the proposal; the copies whose text differs are kept apart and flagged', async () => {
    const sync = await firm.cli(['--json', 'sync']);
    expect(sync.code, sync.stderr).toBe(0);
    const db = firm.open();
    try {
      const copies = db.prepare('SELECT is_bulk AS bulk, copies_differ AS differ FROM emails ORDER BY is_bulk').all();
      expect(copies).toEqual([{ bulk: 0, differ: 1 }, { bulk: 1, differ: 1 }]);
      const proposals = db.prepare('SELECT p.message_key AS key, e.is_bulk AS bulk FROM email_activity_proposals p JOIN emails e ON e.id = p.email_id').all();
      expect(proposals).toEqual([{ key: 'commit-1@harborview-pension.com', bulk: 0 }]);
    } finally {
      db.close();
    }
    const list = await firm.cli(['--json', 'review', 'list']);
    expect(JSON.parse(list.stdout)).toMatchObject([{ copiesDiffer: true }]);
  });
});
