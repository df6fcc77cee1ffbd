import { mkdtempSync, utimesSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import { startEmulator } from '../../src/emulator/index.js';
import { loadEmlFolder } from '../../src/emulator/eml-folder.js';
import { generateScenario } from '../../src/emulator/scenario/generate.js';
import { tempDir } from '../helpers/tmp.js';
import { eml, gmailFor } from './helpers.js';

const DAY = 86_400_000;
const dir = tempDir('crm-mail-emu-repro-');

describe('emulator reproducibility', () => {
  it('gives the same message ids for the same seed whatever the clock says at start (a restart later in the day)', async () => {
    const end = new Date(Date.UTC(2026, 10, 20));
    const scenario = generateScenario({ seed: 7, partners: 1, investors: 6, messages: 120, start: new Date(end.getTime() - 60 * DAY), end });
    const user = scenario.partners[0]!.email;
    // Two starts whose retention windows (7 days) hold a different number of the loaded messages:
    // that is what changed how many history records a load writes.
    const early = await startEmulator({ scenario, now: () => end.getTime() - 10 * DAY, quotaUnits: 0 });
    const late = await startEmulator({ scenario, now: () => end.getTime() + 2 * DAY, quotaUnits: 0 });
    try {
      const earlyIds = early.messageIds(user);
      const lateIds = late.messageIds(user);
      expect(earlyIds.length).toBeGreaterThan(50);
      expect(lateIds).toEqual(earlyIds);
      // And ids minted after the start (mail arriving while it runs) agree as well.
      const raw = eml({ From: 'lp@fund.example', To: user, Subject: 'New', 'Message-ID': '<new@fund.example>' }, 'hello\r\n');
      const at = end.getTime() + 3 * DAY;
      expect(late.addMessage(user, raw, { internalDate: at }).id).toBe(early.addMessage(user, raw, { internalDate: at }).id);
    } finally {
      await early.stop();
      await late.stop();
    }
  });

  it('gives --mailbox files without a Date header whole-millisecond internalDates, as Gmail does', async () => {
    const box = mkdtempSync(join(dir, 'box-'));
    const file = join(box, 'undated.eml');
    writeFileSync(file, eml({ From: 'lp@fund.example', To: 'ann@firm.example', Subject: 'No date', 'Message-ID': '<undated@fund.example>' }, 'body\r\n'));
    // A file time with a sub-millisecond part (file systems keep nanoseconds).
    utimesSync(file, 1_764_750_000.123456, 1_764_750_000.123456);
    const [entry] = loadEmlFolder(box);
    expect(Number.isInteger(entry!.internalDate)).toBe(true);
    expect(entry!.internalDate).toBe(1_764_750_000_123);

    const emu = await startEmulator({ mailboxes: { 'ann@firm.example': loadEmlFolder(box) }, domain: 'firm.example', quotaUnits: 0 });
    try {
      const gmail = gmailFor(emu, 'ann@firm.example');
      const [id] = emu.messageIds('ann@firm.example');
      const message = await gmail.users.messages.get({ userId: 'me', id: id!, format: 'minimal' });
      expect(message.data.internalDate).toBe('1764750000123');
    } finally {
      await emu.stop();
    }
  });
});
