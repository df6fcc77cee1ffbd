/**
 * An attachment part with no bytes (here a message/external-body stub, as in
 * real mail of the 1990s): Gmail gives such a part body.size 0 and no attachmentId, so there is nothing to download. It is stored at once
 * as an empty file; before, it waited for a download that could never happen, failed on every run
 * and kept `status` alerting.
 */
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { tempDir } from '../helpers/tmp.js';
import { ANN, JANE, startHostileFirm, type HostileFirm } from '../sync/hostileFirm.js';

const dir = tempDir('crm-mail-empty-attachment-');
let firm: HostileFirm;

const RAW = [
  `From: Ann Lee <${ANN}>`,
  `To: ${JANE}`,
  'Subject: Fund III documents',
  'Date: Mon, 2 Nov 2026 10:00:00 +0000',
  'Message-ID: <empty-part@harborview-pension.com>',
  'MIME-Version: 1.0',
  'Content-Type: multipart/mixed; boundary="b1"',
  '',
  '--b1',
  'Content-Type: text/plain; charset=utf-8',
  '',
  'The signed page follows; the second file was empty on our side.',
  '--b1',
  'Content-Type: application/pdf; name="signed.pdf"',
  'Content-Disposition: attachment; filename="signed.pdf"',
  'Content-Transfer-Encoding: base64',
  '',
  Buffer.from('%PDF-1.4 signed page').toString('base64'),
  '--b1',
  // An empty part with no name (as a message/external-body stub is): Gmail lists it without an attachmentId.
  'Content-Type: message/external-body; access-type=anon-ftp; site="ftp.example.org"',
  '',
  '',
  '--b1--',
  '',
].join('\r\n');

beforeAll(async () => {
  firm = await startHostileFirm(dir, [{ raw: Buffer.from(RAW) }]);
});
afterAll(async () => firm?.stop());

describe('an empty attachment part', () => {
  it('is stored as an empty file by the sync, and status raises no alert', async () => {
    const sync = await firm.cli(['--json', 'sync', '--no-propose']);
    expect(sync.code, sync.stderr).toBe(0);
    const db = firm.open();
    try {
      const rows = db.prepare('SELECT part_id, filename, status, size, error FROM email_attachments ORDER BY part_id').all();
      expect(rows).toEqual([
        { part_id: '1', filename: 'signed.pdf', status: 'stored', size: 20, error: null },
        { part_id: '2', filename: null, status: 'stored', size: 0, error: null },
      ]);
    } finally {
      db.close();
    }
    const status = await firm.cli(['status']);
    expect(status.code, status.stdout + status.stderr).toBe(0);
  });
});
