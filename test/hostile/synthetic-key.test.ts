/**
 * Issue 17 item 2: two messages without a Message-ID whose From/To/Cc/Date/Subject are equal but whose
 * bodies differ are two logical messages, each stored and each proposed.
 */
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { tempDir } from '../helpers/tmp.js';
import { ANN, JANE, eml, startHostileFirm, type HostileFirm } from '../sync/hostileFirm.js';

const dir = tempDir('crm-mail-synth-');
let firm: HostileFirm;
const headers = [`From: Ann Lee <${ANN}>`, `To: ${JANE}`, 'Subject: Fund III', 'Date: Mon, 2 Nov 2026 10:00:00 +0000'];

beforeAll(async () => {
  firm = await startHostileFirm(dir, [
    { raw: eml(headers, 'We commit 10M to Fund III.') },
    { raw: eml(headers, 'Please withdraw us from the data room.') },
  ]);
});
afterAll(async () => firm?.stop());

describe('messages without Message-ID', () => {
  it('are two logical messages when their bodies differ, each proposed', async () => {
    const sync = await firm.cli(['--json', 'sync']);
    expect(sync.code, sync.stderr).toBe(0);
    const db = firm.open();
    try {
      const keys = db.prepare('SELECT DISTINCT message_key AS k FROM emails').all() as Array<{ k: string }>;
      expect(keys).toHaveLength(2);
      expect(keys.every((row) => row.k.startsWith('synthetic:'))).toBe(true);
      const proposed = db.prepare('SELECT count(*) AS n FROM email_activity_proposals').get() as { n: number };
      expect(proposed.n).toBe(2);
    } finally {
      db.close();
    }
  });
});
