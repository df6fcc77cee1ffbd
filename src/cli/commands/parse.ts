import type { Command } from 'commander';
import type { CliContext } from '../context.js';
import { readFileSync, statSync } from 'node:fs';
import { UsageError } from '../../errors.js';

const EXAMPLES = `
Examples:
  $ crm-mail parse message.eml
  $ crm-mail parse gmail-message.json          # a saved messages.get answer (raw, full or metadata)
  $ crm-mail parse message.eml --no-text       # headers, addresses and attachments only

Prints what crm-mail makes of one message, as JSON: Message-ID and logical key, threading ids,
decoded subject, normalized addresses, dates, body text, attachments, bulk-mail signals and
parse problems. No network and no database are used.`;

/** Input files larger than this are refused: a message is at most 25 MB in Gmail, a raw JSON ~4/3 of it. */
const MAX_INPUT_BYTES = 64 * 1024 * 1024;

export function registerParse(program: Command, ctx: CliContext): void {
  program
    .command('parse')
    .description('show the canonical message crm-mail reads from a .eml file or a saved Gmail API message (offline)')
    .argument('<file>', '.eml file, or JSON of a Gmail messages.get response')
    .option('--no-text', 'leave the body text out of the output')
    .addHelpText('after', EXAMPLES)
    .action(async (file: string, options: { text: boolean }) => {
      let size: number;
      try {
        size = statSync(file).size;
      } catch (error) {
        throw new UsageError(`cannot read ${file}: ${(error as NodeJS.ErrnoException).code === 'ENOENT' ? 'no such file' : (error as Error).message}`);
      }
      if (size > MAX_INPUT_BYTES) throw new UsageError(`${file} is ${size} bytes; messages larger than ${MAX_INPUT_BYTES} bytes are not parsed`);
      const bytes = readFileSync(file);
      const { parseRaw, parseGmailMessage } = await import('../../mail/parse.js');
      const message = looksLikeJson(bytes) ? await parseGmailMessage(gmailMessageFrom(bytes, file)) : await parseRaw(bytes);
      // Reading order: identity, people, dates, content, then what went wrong. Bytes are summarized, never dumped.
      const { messageKey, messageId, inReplyTo, references, subject, from, to, cc, bcc, replyTo, dateHeader, sentMs, snippet, text, attachments, bulk, problems, ...gmail } = message;
      const shown = {
        messageKey, messageId, inReplyTo, references, subject, from, to, cc, bcc, replyTo, dateHeader,
        sentAt: sentMs === undefined ? undefined : new Date(sentMs).toISOString(),
        sentMs, ...gmail, snippet,
        text: options.text ? text : undefined,
        attachments: attachments.map(({ content, ...rest }) => (content ? { ...rest, contentBytes: content.length } : rest)),
        bulk, problems,
      };
      ctx.out.data(shown);
    });
}

function looksLikeJson(bytes: Buffer): boolean {
  const start = bytes.subarray(0, 64).toString('utf8').replace(/^\ufeff/, '').trimStart();
  return start.startsWith('{');
}

/** The message object of a saved answer: the resource itself, or `{ data: resource }` as the client returns it. */
function gmailMessageFrom(bytes: Buffer, file: string): Record<string, unknown> {
  let value: unknown;
  try {
    value = JSON.parse(bytes.toString('utf8').replace(/^\ufeff/, ''));
  } catch (error) {
    throw new UsageError(`${file} looks like JSON but does not parse: ${(error as Error).message}`);
  }
  const record = value as Record<string, unknown>;
  const message = record && typeof record === 'object' && record.data && typeof record.data === 'object' && !record.payload && !record.raw ? (record.data as Record<string, unknown>) : record;
  if (!message || typeof message !== 'object' || (!('raw' in message) && !('payload' in message) && !('id' in message))) {
    throw new UsageError(`${file} is JSON but not a Gmail message (expected "raw", "payload" or "id")`);
  }
  return message;
}
