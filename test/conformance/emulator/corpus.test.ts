import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { existsSync, readdirSync, readFileSync } from 'node:fs';
import { join } from 'node:path';
import { startEmulator, type Emulator } from '../../../src/emulator/index.js';
import { PROJECT_ROOT } from '../../helpers/cli.js';
import { gmailFor } from '../../emulator/helpers.js';
import { schemaErrors } from '../schema.js';

const CORPUS = join(PROJECT_ROOT, '..', 'shared', 'corpus');
const USER = 'corpus@northwind.vc';

let emu: Emulator;
let files: string[];
const idByFile = new Map<string, string>();

beforeAll(async () => {
  if (!existsSync(CORPUS)) throw new Error(`the shared corpus is missing: ${CORPUS} does not exist, so the real-world mail test cannot run`);
  files = readdirSync(CORPUS).filter((f) => f.endsWith('.eml')).sort();
  if (files.length === 0) throw new Error(`the shared corpus is missing: no .eml files in ${CORPUS}`);
  emu = await startEmulator({ mailboxes: { [USER]: [] }, quotaUnitsPerSec: 0 });
  // Added one by one so each file's Gmail id is known.
  for (const file of files) idByFile.set(file, emu.addMessage(USER, readFileSync(join(CORPUS, file)), { labelIds: ['INBOX'] }).id);
});
afterAll(async () => emu?.stop());

describe('the shared corpus through the emulator', () => {
  it('lists every message', async () => {
    const client = gmailFor(emu, USER);
    const listed = (await client.users.messages.list({ userId: 'me', maxResults: 500 })).data;
    expect(listed.resultSizeEstimate).toBe(files.length);
  });

  it('reads every message back: raw byte-exact, full and metadata valid, attachments fetchable', async () => {
    const client = gmailFor(emu, USER);
    let attachments = 0;
    for (const file of files) {
      const id = idByFile.get(file)!;
      const source = readFileSync(join(CORPUS, file));
      const raw = (await client.users.messages.get({ userId: 'me', id, format: 'raw' })).data;
      expect(Buffer.from(raw.raw!, 'base64url').equals(source), `${file}: raw round trip`).toBe(true);
      expect(raw.sizeEstimate, file).toBe(source.length);
      const full = (await client.users.messages.get({ userId: 'me', id, format: 'full' })).data;
      expect(schemaErrors(full, 'Message', ['id', 'threadId', 'payload', 'snippet', 'historyId', 'internalDate']), file).toEqual([]);
      const meta = (await client.users.messages.get({ userId: 'me', id, format: 'metadata', metadataHeaders: ['From', 'Subject'] })).data;
      expect(schemaErrors(meta, 'Message'), file).toEqual([]);
      const ids: Array<{ id: string; size: number }> = [];
      const walk = (part: NonNullable<typeof full.payload>): void => {
        if (part.body?.attachmentId) ids.push({ id: part.body.attachmentId, size: part.body.size ?? -1 });
        if (part.body?.attachmentId) expect(part.body.data, `${file}: attachment data inline`).toBeUndefined();
        for (const child of part.parts ?? []) walk(child);
      };
      walk(full.payload!);
      for (const a of ids) {
        const body = (await client.users.messages.attachments.get({ userId: 'me', messageId: id, id: a.id })).data;
        expect(Buffer.from(body.data ?? '', 'base64url').length, file).toBe(a.size);
        attachments++;
      }
    }
    expect(attachments).toBeGreaterThan(10);
  });

  it('threads replies with their parents as THREADS.tsv records them', async () => {
    const client = gmailFor(emu, USER);
    const rows = readFileSync(join(CORPUS, 'THREADS.tsv'), 'utf8').trim().split('\n').slice(1).map((l) => l.split('\t'));
    const byMessageId = new Map(rows.map((r) => [r[3], r[2]]));
    let checked = 0;
    for (const row of rows) {
      const [, , file, , parent, inCorpus] = row;
      if (inCorpus !== 'yes' || !file || !parent) continue;
      const parentFile = byMessageId.get(parent);
      if (!parentFile || !idByFile.has(file) || !idByFile.has(parentFile)) continue;
      const a = (await client.users.messages.get({ userId: 'me', id: idByFile.get(file)!, format: 'minimal' })).data;
      const b = (await client.users.messages.get({ userId: 'me', id: idByFile.get(parentFile)!, format: 'minimal' })).data;
      expect(a.threadId, `${file} should share a thread with ${parentFile}`).toBe(b.threadId);
      checked++;
    }
    expect(checked).toBeGreaterThan(0);
  });
});
