import { describe, expect, it } from 'vitest';
import { writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { runCli } from '../../helpers/cli.js';
import { tempDir } from '../../helpers/tmp.js';
import { CORPUS_DIR, corpusFiles, corpusRaw } from '../../pipeline/support.js';

describe('crm-mail parse', () => {
  it('prints the canonical message of a .eml file as JSON, without a database', async () => {
    const dir = tempDir();
    const file = join(CORPUS_DIR, corpusFiles().find((f) => f.startsWith('d026_'))!);
    const result = await runCli(['parse', file], { cwd: dir });
    expect(result.stderr).toBe('');
    expect(result.code).toBe(0);
    const message = JSON.parse(result.stdout);
    expect(message.subject).toBe('Nodemailer is unicode friendly ✔ (1476358788189)');
    expect(message.from).toEqual({ address: 'andris@kreata.ee', name: 'Andris Kreata' });
    expect(message.attachments.find((a: { filename?: string }) => a.filename === 'nyan cat ✔.gif')).toMatchObject({ contentType: 'image/gif', size: 29361, contentBytes: 29361 });
    expect(message.attachments[0].content).toBeUndefined();
    expect(message.text).toContain('Hello to myself');
    // No database was created in the working folder.
    const { readdirSync } = await import('node:fs');
    expect(readdirSync(dir)).toEqual([]);
  });

  it('reads a saved Gmail API message (format=raw, as the client returns it) and can leave the text out', async () => {
    const dir = tempDir();
    const file = join(dir, 'message.json');
    writeFileSync(file, JSON.stringify({ data: { id: '18c0f2a1b2c3d4e5', threadId: '18c0f2a1b2c3d4e5', labelIds: ['INBOX'], internalDate: '1717171717000', raw: corpusRaw('d094').toString('base64url') } }));
    const result = await runCli(['parse', file, '--no-text']);
    expect(result.code).toBe(0);
    const message = JSON.parse(result.stdout);
    expect(message).toMatchObject({ gmailId: '18c0f2a1b2c3d4e5', internalDateMs: 1717171717000, messageKey: '20020726013315.GC11850@nexus.cloudmark.com', inReplyTo: 't851kuc2r0819al79haubtjvvubhnqai1s@4ax.com' });
    expect(message.text).toBeUndefined();
  });

  it('refuses a missing file or JSON that is not a message with exit code 2', async () => {
    const dir = tempDir();
    const missing = await runCli(['parse', join(dir, 'nope.eml')]);
    expect(missing.code).toBe(2);
    expect(missing.stderr).toMatch(/cannot read .*nope\.eml: no such file/);
    const other = join(dir, 'other.json');
    writeFileSync(other, '{"hello": 1}');
    const wrong = await runCli(['parse', other]);
    expect(wrong.code).toBe(2);
    expect(wrong.stderr).toMatch(/not a Gmail message/);
    const broken = join(dir, 'broken.json');
    writeFileSync(broken, '{"raw": ');
    expect((await runCli(['parse', broken])).code).toBe(2);
  });

  it('has examples in its help', async () => {
    const result = await runCli(['parse', '--help']);
    expect(result.code).toBe(0);
    expect(result.stdout).toContain('$ crm-mail parse message.eml');
  });
});
