import { describe, expect, it } from 'vitest';
import { spawnSync } from 'node:child_process';
import { createHash } from 'node:crypto';
import { existsSync, readdirSync, readFileSync, statSync } from 'node:fs';
import { join, relative } from 'node:path';
import { pathToFileURL } from 'node:url';
import { AttachmentStore, downloadPendingAttachments } from '../../../src/attachments.js';
import { captureMessage } from '../../../src/capture.js';
import { attachmentsOfEmail, attachmentStatusCounts, countReferencesToBlob } from '../../../src/db/attachments.js';
import { parseRaw, type CanonicalMessage } from '../../../src/mail/parse.js';
import { NotFoundError } from '../../../src/errors.js';
import { PROJECT_ROOT } from '../../helpers/cli.js';
import { canonicalMessage } from '../../helpers/message.js';
import { tempDir } from '../../helpers/tmp.js';
import { corpusRaw, migratedDb } from '../../pipeline/support.js';

const sha = (bytes: Buffer): string => createHash('sha256').update(bytes).digest('hex');
const NOMATCH = { investors: [], direction: 'received' as const };
const BLOB_PATH = /^[0-9a-f]{2}\/[0-9a-f]{2}\/[0-9a-f]{64}$/;

/** Every file under a folder, relative paths. */
function filesUnder(dir: string): string[] {
  if (!existsSync(dir)) return [];
  const out: string[] = [];
  const walk = (current: string): void => {
    for (const entry of readdirSync(current, { withFileTypes: true })) {
      const path = join(current, entry.name);
      if (entry.isDirectory()) walk(path);
      else out.push(relative(dir, path));
    }
  };
  walk(dir);
  return out.sort();
}

/** A message whose attachments are Gmail stubs (format=full): ids and sizes, no bytes. */
function stubMessage(gmailId: string, parts: Array<{ partId: string; filename: string; size: number; attachmentId: string }>): CanonicalMessage {
  return canonicalMessage({
    gmailId,
    gmailThreadId: `t-${gmailId}`,
    internalDateMs: 1,
    messageKey: `${gmailId}@example.com`,
    messageId: `${gmailId}@example.com`,
    subject: 'files',
    attachments: parts.map((p) => ({ partId: p.partId, filename: p.filename, contentType: 'application/pdf', size: p.size, inline: false, gmailAttachmentId: p.attachmentId })),
  });
}

describe('attachment store', () => {
  it('stores identical content once, verified, at a path made of its hash', () => {
    const store = new AttachmentStore(tempDir());
    const bytes = Buffer.from('%PDF-1.4 deck');
    const first = store.put(bytes);
    const second = store.put(Buffer.from(bytes));
    expect(first).toEqual({ sha256: sha(bytes), path: second.path, size: bytes.length });
    expect(first.path).toMatch(BLOB_PATH);
    expect(filesUnder(store.dir)).toEqual([first.path]);
    expect(store.read(first.sha256)).toEqual(bytes);
    expect(() => AttachmentStore.relativePath('../../etc/passwd')).toThrow(/not a SHA-256/);
  });
});

describe('attachments through capture and the download worker', () => {
  it('dedups across two mailboxes: one file, a row per copy', async () => {
    const dir = tempDir();
    const { db, accounts } = await migratedDb(dir);
    const store = new AttachmentStore(join(dir, 'blobs'));
    const message = await parseRaw(corpusRaw('d026')); // four attachments, bytes in hand
    const withContent = message.attachments.filter((a) => a.content);
    expect(withContent.length).toBe(4);
    const ids = [accounts.jane, accounts.omar].map(
      (accountId, i) => captureMessage(db, { accountId, message: { ...message, gmailId: `copy${i}` }, match: NOMATCH, contentLevel: 'full', attachments: { store, maxBytes: 10_000_000 } }).emailId,
    );
    const rows = ids.map((id) => attachmentsOfEmail(db, id));
    for (const list of rows) {
      expect(list.map((r) => r.status)).toEqual(['stored', 'stored', 'stored', 'stored']);
      for (const row of list) expect(row.storage_path).toMatch(BLOB_PATH);
    }
    expect(rows[0]!.map((r) => r.sha256)).toEqual(rows[1]!.map((r) => r.sha256));
    expect(rows[0]!.find((r) => r.filename === 'nyan cat ✔.gif')!.sha256).toBe(sha(withContent.find((a) => a.filename === 'nyan cat ✔.gif')!.content!));
    expect(filesUnder(store.dir)).toHaveLength(new Set(rows[0]!.map((r) => r.sha256)).size);
    expect(countReferencesToBlob(db, rows[0]![0]!.sha256!)).toBe(2);
    db.close();
  });

  it('dedups downloads too, and records over-cap attachments as skipped with their size, unfetched', async () => {
    const dir = tempDir();
    const { db, accounts } = await migratedDb(dir);
    const store = new AttachmentStore(join(dir, 'blobs'));
    const deck = Buffer.alloc(3000, 7);
    for (const [accountId, gmailId] of [[accounts.jane, 'm1'], [accounts.omar, 'm2']] as const) {
      captureMessage(db, {
        accountId,
        message: stubMessage(gmailId, [
          { partId: '1', filename: 'deck.pdf', size: deck.length, attachmentId: `att-${gmailId}-1` },
          { partId: '2', filename: 'video.mov', size: 5_000_000, attachmentId: `att-${gmailId}-2` },
        ]),
        match: NOMATCH,
        contentLevel: 'full',
      });
    }
    const fetched: string[] = [];
    const fetch = async (gmailId: string, attachmentId: string) => {
      fetched.push(`${gmailId}/${attachmentId}`);
      return Buffer.from(deck);
    };
    const results = [];
    for (const accountId of [accounts.jane, accounts.omar]) results.push(await downloadPendingAttachments(db, store, fetch, { accountId, concurrency: 2, maxBytes: 1_000_000 }));
    expect(results).toEqual([{ stored: 1, skipped: 1, failed: 0, reasons: [] }, { stored: 1, skipped: 1, failed: 0, reasons: [] }]);
    expect(fetched.sort()).toEqual(['m1/att-m1-1', 'm2/att-m2-1']);
    expect(filesUnder(store.dir)).toEqual([AttachmentStore.relativePath(sha(deck))]);
    const skipped = db.prepare("SELECT size, error, storage_path FROM email_attachments WHERE status = 'skipped'").all() as Array<{ size: number; error: string; storage_path: string | null }>;
    expect(skipped).toEqual([
      { size: 5_000_000, error: 'larger than the 1000000-byte cap', storage_path: null },
      { size: 5_000_000, error: 'larger than the 1000000-byte cap', storage_path: null },
    ]);
    // A size Gmail did not announce is checked on the bytes.
    captureMessage(db, { accountId: accounts.jane, message: stubMessage('m3', [{ partId: '1', filename: 'x', size: 0, attachmentId: 'a3' }]), match: NOMATCH, contentLevel: 'full' });
    const big = await downloadPendingAttachments(db, store, async () => Buffer.alloc(2_000_000), { accountId: accounts.jane, concurrency: 1, maxBytes: 1_000_000 });
    expect(big).toEqual({ stored: 0, skipped: 1, failed: 0, reasons: [] });
    // The cap also applies at capture when the bytes are in hand.
    const raw = await parseRaw(corpusRaw('d083')); // winmail.dat, 207 kB
    const { emailId } = captureMessage(db, { accountId: accounts.omar, message: { ...raw, gmailId: 'm4' }, match: NOMATCH, contentLevel: 'full', attachments: { store, maxBytes: 100_000 } });
    expect(attachmentsOfEmail(db, emailId).map((r) => [r.filename, r.status, r.size])).toEqual([['winmail.dat', 'skipped', 207448]]);
    db.close();
  });

  it('never derives a path from hostile filenames', async () => {
    const dir = tempDir();
    const { db, accounts } = await migratedDb(dir);
    const store = new AttachmentStore(join(dir, 'store', 'blobs'));
    const long = 'A'.repeat(500) + '.pdf';
    const raw = [
      'From: a@b.example',
      'To: jane@northwind.vc',
      'Subject: files',
      'Message-ID: <hostile@b.example>',
      'Content-Type: multipart/mixed; boundary="b"',
      '',
      '--b',
      'Content-Type: text/plain',
      '',
      'see attached',
      '--b',
      'Content-Type: text/plain; name="../../etc/passwd"',
      'Content-Disposition: attachment; filename="../../etc/passwd"',
      '',
      'root:x:0:0',
      '--b',
      'Content-Type: application/octet-stream',
      "Content-Disposition: attachment; filename*=utf-8''evil%00.txt%00..%2F..%2Fx",
      'Content-Transfer-Encoding: base64',
      '',
      Buffer.from('nul').toString('base64'),
      '--b',
      'Content-Type: application/pdf',
      `Content-Disposition: attachment; filename="${long}"`,
      'Content-Transfer-Encoding: base64',
      '',
      Buffer.from('long').toString('base64'),
      '--b--',
      '',
    ].join('\r\n');
    const message = await parseRaw(Buffer.from(raw));
    expect(message.attachments.map((a) => a.filename)).toEqual(['../../etc/passwd', 'evil.txt../../x', long]);
    const { emailId } = captureMessage(db, { accountId: accounts.jane, message: { ...message, gmailId: 'h1' }, match: NOMATCH, contentLevel: 'full', attachments: { store, maxBytes: 1_000_000 } });
    const rows = attachmentsOfEmail(db, emailId);
    expect(rows.map((r) => r.status)).toEqual(['stored', 'stored', 'stored']);
    for (const row of rows) {
      expect(row.storage_path).toMatch(BLOB_PATH);
      expect(row.filename).not.toContain('\u0000');
    }
    expect(rows[2]!.filename).toBe(long);
    // Nothing was written anywhere but the blob folder.
    expect(filesUnder(dir).filter((f) => !f.startsWith('crm.db'))).toEqual(rows.map((r) => join('store', 'blobs', r.storage_path!)).sort());
    db.close();
  });

  it('counts failures, retries them next run, and re-resolves stale Gmail attachment ids once per message', async () => {
    const dir = tempDir();
    const { db, accounts } = await migratedDb(dir);
    const store = new AttachmentStore(join(dir, 'blobs'));
    captureMessage(db, {
      accountId: accounts.jane,
      message: stubMessage('m1', [
        { partId: '1', filename: 'a.pdf', size: 3, attachmentId: 'stale-1' },
        { partId: '2', filename: 'b.pdf', size: 3, attachmentId: 'stale-2' },
      ]),
      match: NOMATCH,
      contentLevel: 'full',
    });
    // Run 1: Gmail is down.
    const down = await downloadPendingAttachments(db, store, async () => {
      throw new Error('socket hang up');
    }, { accountId: accounts.jane, concurrency: 2, maxBytes: 100 });
    expect(down).toMatchObject({ stored: 0, skipped: 0, failed: 2 });
    // The reason reaches the run line and status, so an admin sees why (issue 14 item 2).
    expect(down.reasons.join(" ")).toContain("socket hang up");
    expect(db.prepare('SELECT status, attempts, error FROM email_attachments ORDER BY id').all()).toEqual([
      { status: 'failed', attempts: 1, error: 'socket hang up' },
      { status: 'failed', attempts: 1, error: 'socket hang up' },
    ]);
    // Run 2: the old ids have expired; the resolver (a fresh messages.get format=full) gives new ones.
    let resolves = 0;
    const fetch = async (_gmailId: string, attachmentId: string) => {
      if (attachmentId.startsWith('stale')) throw new NotFoundError('Requested entity was not found.', { status: 404 });
      return Buffer.from(attachmentId.slice(-3));
    };
    const resolve = async () => {
      resolves++;
      return [
        { partId: '1', attachmentId: 'fresh-aaa', size: 3 },
        { partId: '2', attachmentId: 'fresh-bbb', size: 3 },
      ];
    };
    const ok = await downloadPendingAttachments(db, store, fetch, { accountId: accounts.jane, concurrency: 1, maxBytes: 100, resolve });
    expect(ok).toEqual({ stored: 2, skipped: 0, failed: 0, reasons: [] });
    expect(resolves).toBe(1);
    expect(db.prepare('SELECT gmail_attachment_id, status FROM email_attachments ORDER BY id').all()).toEqual([
      { gmail_attachment_id: 'fresh-aaa', status: 'stored' },
      { gmail_attachment_id: 'fresh-bbb', status: 'stored' },
    ]);
    // Past maxAttempts a row is left alone.
    captureMessage(db, { accountId: accounts.jane, message: stubMessage('m2', [{ partId: '1', filename: 'c', size: 1, attachmentId: 'x' }]), match: NOMATCH, contentLevel: 'full' });
    const failing = async () => {
      throw new Error('boom');
    };
    for (let i = 0; i < 3; i++) await downloadPendingAttachments(db, store, failing, { accountId: accounts.jane, concurrency: 1, maxBytes: 100, maxAttempts: 2 });
    expect(db.prepare("SELECT attempts FROM email_attachments WHERE status = 'failed'").all()).toEqual([{ attempts: 2 }]);
    expect(attachmentStatusCounts(db, accounts.jane)).toEqual({ pending: 0, stored: 2, skipped: 0, failed: 1 });
    db.close();
  });

  it('downloads CRM_GMAIL_ATTACH_CONCURRENCY at a time, never more', async () => {
    const dir = tempDir();
    const { db, accounts } = await migratedDb(dir);
    const store = new AttachmentStore(join(dir, 'blobs'));
    const parts = Array.from({ length: 10 }, (_, i) => ({ partId: String(i), filename: `f${i}`, size: 2, attachmentId: `a${i}` }));
    captureMessage(db, { accountId: accounts.jane, message: stubMessage('m1', parts), match: NOMATCH, contentLevel: 'full' });
    let inFlight = 0;
    let peak = 0;
    const fetch = async (_gmailId: string, attachmentId: string) => {
      inFlight++;
      peak = Math.max(peak, inFlight);
      await new Promise((resolve) => setTimeout(resolve, 20));
      inFlight--;
      return Buffer.from(attachmentId);
    };
    expect(await downloadPendingAttachments(db, store, fetch, { accountId: accounts.jane, concurrency: 3, maxBytes: 100 })).toEqual({ stored: 10, skipped: 0, failed: 0, reasons: [] });
    expect(peak).toBe(3);
    db.close();
  });

  it('a crash between the temp write and the rename leaves nothing half-written referenced', async () => {
    const distModule = join(PROJECT_ROOT, 'dist', 'src', 'attachments.js');
    if (!existsSync(distModule)) throw new Error('this test runs the compiled store in a child process: run `npx tsc -p .` first');
    const dir = tempDir();
    const { db, path, accounts } = await migratedDb(dir);
    const blobs = join(dir, 'blobs');
    captureMessage(db, { accountId: accounts.jane, message: stubMessage('m1', [{ partId: '1', filename: 'deck.pdf', size: 11, attachmentId: 'att-1' }]), match: NOMATCH, contentLevel: 'full' });
    db.close();

    // A separate process downloads and is killed (SIGKILL: no cleanup runs) right before the rename.
    const script = `
      const { AttachmentStore, downloadPendingAttachments } = await import(${JSON.stringify(pathToFileURL(distModule).href)});
      const { openDatabase } = await import(${JSON.stringify(pathToFileURL(join(PROJECT_ROOT, 'dist', 'src', 'db', 'open.js')).href)});
      const db = openDatabase(${JSON.stringify(path)});
      const store = new AttachmentStore(${JSON.stringify(blobs)}, { beforeCommit: () => process.kill(process.pid, 'SIGKILL') });
      await downloadPendingAttachments(db, store, async () => Buffer.from('deck-bytes!'), { accountId: ${accounts.jane}, concurrency: 1, maxBytes: 1000 });
      console.log('survived');`;
    const child = spawnSync(process.execPath, ['--input-type=module', '-e', script], { encoding: 'utf8', timeout: 60_000 });
    expect(child.signal).toBe('SIGKILL');
    expect(child.stdout).not.toContain('survived');

    const { openDatabase } = await import('../../../src/db/open.js');
    const after = openDatabase(path);
    expect(after.prepare('SELECT status, sha256, storage_path FROM email_attachments').all()).toEqual([{ status: 'pending', sha256: null, storage_path: null }]);
    const leftovers = filesUnder(blobs);
    expect(leftovers).toHaveLength(1);
    expect(leftovers[0]).toMatch(/^\.tmp\/[0-9a-f]{64}\.\d+\.[0-9a-f]+\.part$/);
    expect(statSync(join(blobs, leftovers[0]!)).size).toBe(11);

    // The next run sweeps the orphan and stores the attachment properly.
    const store = new AttachmentStore(blobs);
    expect(store.sweepTemp(0)).toBe(1);
    const result = await downloadPendingAttachments(after, store, async () => Buffer.from('deck-bytes!'), { accountId: accounts.jane, concurrency: 1, maxBytes: 1000 });
    expect(result).toEqual({ stored: 1, skipped: 0, failed: 0, reasons: [] });
    const row = after.prepare('SELECT status, sha256, storage_path FROM email_attachments').get() as { status: string; sha256: string; storage_path: string };
    expect(row.status).toBe('stored');
    expect(readFileSync(join(blobs, row.storage_path), 'utf8')).toBe('deck-bytes!');
    expect(filesUnder(blobs)).toEqual([row.storage_path]);
    after.close();
  });
});
