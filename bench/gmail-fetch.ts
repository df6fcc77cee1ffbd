/**
 * Gmail access layer benchmark: fetch 1,000 messages from one account under the emulator's LEGACY
 * quota model (250 units/s per user, gets 5 units; the 2026 model's 6,000 units per minute would
 * make this a 4-minute wait, and its pacing is measured by `npm run bench`), with parallel single
 * requests and with batches, and report
 * messages/s, the share of the quota ceiling (250 units/s / 5 units = 50 messages.get per second),
 * and what the fetch cost in calls and units. Loopback only.
 *
 *   npm run build && node dist/bench/gmail-fetch.js [--messages 1000] [--format metadata] [--json]
 */
import { startEmulator } from '../src/emulator/index.js';
import { createDwdCredentials } from '../src/gmail/auth.js';
import { GmailAccountClient, type MessageFormat } from '../src/gmail/client.js';
import { CrmMailError } from '../src/errors.js';

const USER = 'partner@northwind.vc';
const UNITS_PER_SEC = 250;
const CEILING_GETS_PER_SEC = UNITS_PER_SEC / 5;

function arg(name: string, fallback: string): string {
  const index = process.argv.indexOf(`--${name}`);
  return index >= 0 && process.argv[index + 1] ? process.argv[index + 1]! : fallback;
}

function message(n: number): Buffer {
  return Buffer.from(
    [
      `From: LP ${n} <lp${n}@fund${n % 13}.example>`,
      `To: ${USER}`,
      `Subject: Quarterly update ${n}`,
      `Date: ${new Date(Date.UTC(2026, 9, 1) + n * 3_600_000).toUTCString()}`,
      `Message-ID: <bench-${n}@fund.example>`,
      'Content-Type: text/plain; charset=utf-8',
      '',
      `Body of update ${n}. `.repeat(20),
      '',
    ].join('\r\n'),
  );
}

export interface FetchFigures {
  mode: 'parallel singles' | 'batch';
  messages: number;
  seconds: number;
  messagesPerSec: number;
  percentOfCeiling: number;
  calls: number;
  units: number;
  httpRequests: number;
  retries: number;
  throttled: number;
  emulatorRefused: number;
}

export async function measure(batch: boolean, count: number, format: MessageFormat): Promise<FetchFigures> {
  const now = Date.now();
  const emu = await startEmulator({
    mailboxes: { [USER]: Array.from({ length: count }, (_, i) => ({ raw: message(i), internalDate: now - (count - i) * 60_000 })) },
    quotaModel: 'legacy',
    quotaUnits: UNITS_PER_SEC,
  });
  try {
    const credentials = createDwdCredentials({ keyFile: emu.serviceAccountKeyFile, tokenUrl: emu.tokenUrl });
    await credentials.accessToken(USER);
    // Let the listing's units leave the emulator's window, so both modes start from an idle account.
    const lister = new GmailAccountClient({ user: USER, credentials, apiRoot: emu.rootUrl, unitsPerSec: UNITS_PER_SEC, retryMax: 5 });
    const ids: string[] = [];
    for await (const page of lister.listMessages({ pageSize: 500 })) ids.push(...page.messages.map((m) => m.id));
    await new Promise((resolve) => setTimeout(resolve, 1100));
    emu.resetCounters();
    const gmail = new GmailAccountClient({ user: USER, credentials, apiRoot: emu.rootUrl, unitsPerSec: UNITS_PER_SEC, retryMax: 5, batch });
    const started = performance.now();
    const results = await gmail.getMessages(ids, format, format === 'metadata' ? { metadataHeaders: ['From', 'To', 'Cc', 'Subject', 'Date', 'Message-ID'] } : undefined);
    const seconds = (performance.now() - started) / 1000;
    const fetched = [...results.values()].filter((value) => !(value instanceof CrmMailError)).length;
    if (fetched !== ids.length) throw new Error(`only ${fetched} of ${ids.length} messages came back`);
    const stats = gmail.stats();
    const list = lister.stats();
    return {
      mode: batch ? 'batch' : 'parallel singles',
      messages: fetched,
      seconds: Number(seconds.toFixed(2)),
      messagesPerSec: Number((fetched / seconds).toFixed(1)),
      percentOfCeiling: Number(((fetched / seconds / CEILING_GETS_PER_SEC) * 100).toFixed(1)),
      calls: stats.calls + list.calls,
      units: stats.units + list.units,
      httpRequests: stats.httpRequests + list.httpRequests,
      retries: stats.retries,
      throttled: stats.throttled,
      emulatorRefused: emu.counters(USER).refused,
    };
  } finally {
    await emu.stop();
  }
}

async function main(): Promise<void> {
  const count = Number(arg('messages', '1000'));
  const format = arg('format', 'metadata') as MessageFormat;
  const figures = [await measure(false, count, format), await measure(true, count, format)];
  if (process.argv.includes('--json')) {
    process.stdout.write(JSON.stringify({ unitsPerSec: UNITS_PER_SEC, format, figures }, null, 2) + '\n');
    return;
  }
  process.stdout.write(`Gmail fetch of ${count} messages (format=${format}) under the legacy model's ${UNITS_PER_SEC} units/s; ceiling ${CEILING_GETS_PER_SEC} messages.get/s\n`);
  for (const f of figures) {
    process.stdout.write(
      `${f.mode.padEnd(17)} ${f.messagesPerSec.toFixed(1).padStart(6)} msg/s  ${f.percentOfCeiling.toFixed(1).padStart(5)}% of ceiling  ` +
        `${f.seconds}s  calls ${f.calls}  units ${f.units}  http requests ${f.httpRequests}  retries ${f.retries}  throttled ${f.throttled}  refused by emulator ${f.emulatorRefused}\n`,
    );
  }
}

if (process.argv[1] && import.meta.url.endsWith(process.argv[1].replace(/\\/g, '/').split('/').pop()!)) {
  main().catch((error) => {
    process.stderr.write(`bench failed: ${(error as Error).stack ?? error}\n`);
    process.exitCode = 1;
  });
}
