import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { startEmulator, type Emulator } from '../../../src/emulator/index.js';
import { eml, tokenFor } from '../../emulator/helpers.js';
import { schemaErrors } from '../schema.js';
import { buildBatch, parseAnswer, sendBatch } from '../../emulator/batch-helpers.js';

const USER = 'ann@northwind.vc';
let emu: Emulator;
let token: string;
let ids: string[];
const raws = new Map<string, Buffer>();

beforeAll(async () => {
  const messages = Array.from({ length: 60 }, (_, i) => ({ raw: eml({ From: `lp${i}@fund.com`, To: USER, Subject: `Batch ${i}`, 'Message-ID': `<b${i}@fund.com>` }, `Body ${i}\r\n`), internalDate: Date.UTC(2026, 0, 1, 0, i) }));
  emu = await startEmulator({ mailboxes: { [USER]: messages }, quotaUnits: 0 });
  token = await tokenFor(emu, USER);
  ids = emu.messageIds(USER);
  // messageIds are newest first; messages were added oldest first.
  ids.forEach((id, i) => raws.set(id, messages[messages.length - 1 - i]!.raw));
});
afterAll(async () => emu?.stop());

function send(path: string, batch: { body: string; contentType: string }, auth = true) {
  return sendBatch(emu.rootUrl, path, batch, auth ? token : null);
}

describe('batch', () => {
  it('answers 50 gets in one multipart request, in order, each a valid Message', async () => {
    const chosen = ids.slice(0, 50);
    const answer = await send('batch/gmail/v1', buildBatch(chosen.map((id) => `/gmail/v1/users/me/messages/${id}?format=raw`)));
    expect(answer.status).toBe(200);
    const parts = parseAnswer(answer.contentType, answer.text);
    expect(parts).toHaveLength(50);
    parts.forEach((part, i) => {
      expect(part).toMatchObject({ contentId: String(i + 1), status: 200, reason: 'OK' });
      expect(part.headers['content-type']).toBe('application/json; charset=UTF-8');
      const message = JSON.parse(part.body);
      expect(schemaErrors(message, 'Message')).toEqual([]);
      expect(message.id).toBe(chosen[i]);
      expect(Buffer.from(message.raw, 'base64url').equals(raws.get(chosen[i]!)!)).toBe(true);
    });
    // 2026 model (the default): 20 units a get, each part charged on its own.
    expect(emu.counters(USER).byMethod['messages.get']).toMatchObject({ calls: 50, units: 1000 });
  });

  it('also at /batch, with LF lines, a quoted boundary, a preamble and per-part auth; errors are ordinary parts', async () => {
    const paths = [`/gmail/v1/users/me/messages/${ids[0]}?format=minimal`, '/gmail/v1/users/me/messages/ffffffffffffffff', `/gmail/v1/users/me/messages/${ids[1]}?format=metadata&metadataHeaders=Subject`, '/gmail/v1/users/me/profile'];
    const answer = await send('batch', buildBatch(paths, { eol: '\n', quoted: true, preamble: true, innerToken: token }), false);
    const parts = parseAnswer(answer.contentType, answer.text);
    expect(parts.map((p) => [p.status, p.reason])).toEqual([[200, 'OK'], [404, 'Not Found'], [200, 'OK'], [200, 'OK']]);
    expect(JSON.parse(parts[1]!.body).error.errors[0].reason).toBe('notFound');
    expect(JSON.parse(parts[2]!.body).payload.headers).toEqual([{ name: 'Subject', value: expect.stringMatching(/^Batch \d+$/) }]);
    expect(JSON.parse(parts[3]!.body).emailAddress).toBe(USER);
  });

  it('a part without credentials gets its own 401; quota and faults apply per part', async () => {
    const noAuth = await send('batch', buildBatch(['/gmail/v1/users/me/profile']), false);
    expect(parseAnswer(noAuth.contentType, noAuth.text)[0]!.status).toBe(401);
    emu.injectFault({ kind: '429', method: 'messages.get', times: 1 });
    const answer = await send('batch', buildBatch(ids.slice(0, 3).map((id) => `/gmail/v1/users/me/messages/${id}?format=minimal`)));
    expect(parseAnswer(answer.contentType, answer.text).map((p) => p.status)).toEqual([429, 200, 200]);
  });

  it('refuses more than 100 parts, like Gmail', async () => {
    const answer = await send('batch/gmail/v1', buildBatch(Array.from({ length: 101 }, () => '/gmail/v1/users/me/profile')));
    expect(answer.status).toBe(400);
    expect(JSON.parse(answer.text).error.message).toBe('Inner request count exceeds the limit. Received: 101, Limit: 100');
  });

  it('refuses a body that is not multipart/mixed', async () => {
    const answer = await send('batch', { body: '{}', contentType: 'application/json' });
    expect(answer.status).toBe(400);
  });
});
