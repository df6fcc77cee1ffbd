/**
 * Issue 17 item 9: bidi overrides, U+2028/U+2029 and escape sequences from mail or from the CRM
 * never reach the terminal: not in threads, thread, messages, nor review approve/dismiss (which
 * print the investor's name from the CRM).
 */
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { tempDir } from '../helpers/tmp.js';
import { ANN, JANE, eml, startHostileFirm, type HostileFirm } from '../sync/hostileFirm.js';

const dir = tempDir('crm-mail-terminal-');
let firm: HostileFirm;
// U+202E (right-to-left override) and U+2028 (line separator) in an RFC 2047 UTF-8 subject.
const subject = `=?UTF-8?B?${Buffer.from('Fund III \u202Egnp.exe\u202C\u2028 approved\u2029').toString('base64')}?=`;
const UNSAFE = /[\u001b\u009b\u200e\u200f\u202a-\u202e\u2066-\u2069\u2028\u2029]/;

function message(id: number): Buffer {
  return eml([`From: Ann Lee <${ANN}>`, `To: ${JANE}`, `Subject: ${subject}`, `Date: Mon, 2 Nov 2026 1${id}:00:00 +0000`, `Message-ID: <t${id}@harborview-pension.com>`], `Body ${id}\u202e reversed\u2028next`);
}

beforeAll(async () => {
  firm = await startHostileFirm(dir, [{ raw: message(1) }, { raw: message(2) }]);
  const db = firm.open();
  db.prepare('UPDATE investors SET name = ? WHERE id = 1').run('Ann \u001b[31mLee\u001b[0m \u202eevil\u202c\u2028x');
  db.close();
  const sync = await firm.cli(['sync']);
  expect(sync.code, sync.stderr).toBe(0);
});
afterAll(async () => firm?.stop());

describe('values that reach a terminal', () => {
  it('carry no bidi override, line separator or escape sequence', async () => {
    const outputs: Record<string, string> = {};
    for (const args of [['threads'], ['threads', '--investor', '1'], ['thread', '1'], ['messages'], ['review', 'list']]) {
      const run = await firm.cli(args);
      expect(run.code, `${args.join(' ')}: ${run.stderr}`).toBe(0);
      outputs[args.join(' ')] = run.stdout + run.stderr;
    }
    const approve = await firm.cli(['review', 'approve', '1', '--as', JANE]);
    expect(approve.code, approve.stderr).toBe(0);
    outputs['review approve'] = approve.stdout + approve.stderr;
    const dismiss = await firm.cli(['review', 'dismiss', '2', '--as', JANE]);
    expect(dismiss.code, dismiss.stderr).toBe(0);
    outputs['review dismiss'] = dismiss.stdout + dismiss.stderr;
    expect(outputs['review approve']).toContain('Ann Lee');
    for (const [command, text] of Object.entries(outputs)) expect(UNSAFE.exec(text)?.[0].codePointAt(0)?.toString(16), command).toBeUndefined();
  });
});
