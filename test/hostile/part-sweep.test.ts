/**
 * Issue 17 item 8: a download killed mid-write leaves .tmp/*.part files; the next sync removes them
 * at its start (those of a writer that is gone, or older than an hour), and leaves a live writer's.
 */
import { mkdirSync, readdirSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { tempDir } from '../helpers/tmp.js';
import { ANN, JANE, eml, startHostileFirm, type HostileFirm } from '../sync/hostileFirm.js';

const dir = tempDir('crm-mail-sweep-');
let firm: HostileFirm;

beforeAll(async () => {
  firm = await startHostileFirm(dir, [{ raw: eml([`From: Ann Lee <${ANN}>`, `To: ${JANE}`, 'Subject: hi', 'Date: Mon, 2 Nov 2026 10:00:00 +0000', 'Message-ID: <s1@harborview-pension.com>'], 'Hello.') }]);
});
afterAll(async () => firm?.stop());

describe('half-written attachment files', () => {
  it('are swept when a sync starts', async () => {
    const temp = join(firm.env.CRM_GMAIL_ATTACHMENTS_DIR!, '.tmp');
    mkdirSync(temp, { recursive: true });
    // pid 2^22+1 is above Linux's pid_max default: that writer is gone.
    const orphan = `${'a'.repeat(64)}.4194305.0123456789ab.part`;
    const live = `${'b'.repeat(64)}.${process.pid}.0123456789ab.part`;
    writeFileSync(join(temp, orphan), Buffer.alloc(1024));
    writeFileSync(join(temp, live), Buffer.alloc(1024));
    const sync = await firm.cli(['--verbose', 'sync', '--no-propose']);
    expect(sync.code, sync.stderr).toBe(0);
    expect(readdirSync(temp)).toEqual([live]);
    expect(sync.stderr).toMatch(/removed 1 half-written attachment file/);
  });
});
