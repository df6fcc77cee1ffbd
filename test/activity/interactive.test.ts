/**
 * The interactive review driven in a real terminal: tmux runs `crm-mail review` (the compiled
 * bin, @inquirer/prompts on a real pty), the test types keys as a partner would (approve one,
 * edit one, open and dismiss one, skip one, quit) and checks both the screen and the database.
 */
import { afterAll, describe, expect, it } from 'vitest';
import { execFileSync, spawnSync } from 'node:child_process';
import { join } from 'node:path';
import { runPropose } from '../../src/activity/propose.js';
import { openDatabase } from '../../src/db/open.js';
import { tempDir } from '../helpers/tmp.js';
import { BIN, PROJECT_ROOT } from '../helpers/cli.js';
import { ANN, DAY, JANE, configFor, janeToAnn, makeWorld, notesOf, proposals } from './helpers/world.js';

const SOCKET = `crm-mail-activity-test-${process.pid}`;
const SESSION = 'review';

function tmux(...args: string[]): string {
  return execFileSync('tmux', ['-L', SOCKET, ...args], { encoding: 'utf8' });
}

function screen(): string {
  return tmux('capture-pane', '-p', '-J', '-S', '-', '-t', SESSION);
}

async function waitFor(text: string, timeoutMs = 20_000): Promise<string> {
  const deadline = Date.now() + timeoutMs;
  for (;;) {
    const shown = screen();
    if (shown.includes(text)) return shown;
    if (Date.now() > deadline) throw new Error(`timed out waiting for ${JSON.stringify(text)} on the screen:\n${shown}`);
    await new Promise((resolve) => setTimeout(resolve, 100));
  }
}

/** Waits until `text` is on the screen `count` times (a prompt shown again for the same proposal). */
async function waitForCount(text: string, count: number, timeoutMs = 20_000): Promise<string> {
  const deadline = Date.now() + timeoutMs;
  for (;;) {
    const shown = screen();
    if (shown.split(text).length - 1 >= count) return shown;
    if (Date.now() > deadline) throw new Error(`timed out waiting for ${count} x ${JSON.stringify(text)} on the screen:\n${shown}`);
    await new Promise((resolve) => setTimeout(resolve, 100));
  }
}

function keys(...sequence: string[]): void {
  tmux('send-keys', '-t', SESSION, ...sequence);
}

function typeText(text: string): void {
  tmux('send-keys', '-t', SESSION, '-l', text);
}

describe('interactive review in a real terminal (tmux)', () => {
  const dir = tempDir();
  afterAll(() => {
    spawnSync('tmux', ['-L', SOCKET, 'kill-server']);
  });

  it('approves one, edits one, opens and dismisses one, skips one, quits; the screen and the database agree', async () => {
    expect(spawnSync('tmux', ['-V']).status, 'tmux must be installed (apt-get install tmux)').toBe(0);
    const dbPath = join(dir, 'interactive.db');
    const world = await makeWorld(dbPath);
    const since = Date.parse('2026-11-20T12:00:00Z');
    world.db.prepare("INSERT INTO app_settings (key, value) VALUES ('email_activity_since', ?)").run(new Date(since).toISOString());
    for (let index = 0; index < 5; index++) {
      janeToAnn(world, `i${index}@x`, since + (index + 1) * DAY, { subject: `Topic ${index}`, body: `Line one of message ${index}. More text.\nSecond line.` });
    }
    await runPropose(world.db, configFor({ CRM_MAIL_DRAFTER: 'rule' }), {});
    world.db.close();

    const command = `${BIN} review --as ${JANE.email} --db ${dbPath}; echo EXIT=$?; sleep 120`;
    tmux('new-session', '-d', '-s', SESSION, '-x', '160', '-y', '50', '-c', PROJECT_ROOT, `env -u CRM_MAIL_USER -u CRM_DB_PATH sh -c '${command}'`);

    let shown = await waitFor('? Decision');
    expect(shown).toContain('Reviewing as Jane Doe <jane@northwind.vc>: 5 pending proposals, oldest first.');
    expect(shown).toContain('1 of 5 · proposal #1');
    expect(shown).toContain('Investor:  Harborview Pension (#1)');
    expect(shown).toContain('Direction: Sent (by the firm)');
    expect(shown).toContain('Partners:  Jane Doe');
    expect(shown).toContain('Contacts:  Ann Lee');
    expect(shown).toContain('To:        Ann Lee <ann.lee@harborview-pension.com>');
    expect(shown).toContain('Subject:   Topic 0');
    expect(shown).toContain('│ Line one of message 0. More text.');
    expect(shown).toContain('Drafted:   2026-11-21 · Sent · Jane Doe ↔ Ann Lee: Wrote re "Topic 0" — Line one of message 0.');
    expect(shown).toMatch(/a\) approve[\s\S]*e\) edit[\s\S]*d\) dismiss[\s\S]*s\) skip[\s\S]*o\) open[\s\S]*q\) quit/);

    keys('a', 'Enter');
    await waitFor('2 of 5 · proposal #2');
    keys('e', 'Enter');
    await waitFor('Note (edit, then Enter):');
    typeText(' Call booked.');
    keys('Enter');
    await waitFor('3 of 5 · proposal #3');
    keys('o', 'Enter');
    await waitFor('Message-ID: <i2@x>');
    keys('d', 'Enter');
    await waitFor('4 of 5 · proposal #4');
    keys('s', 'Enter');
    await waitFor('5 of 5 · proposal #5');
    keys('q', 'Enter');
    shown = await waitFor('EXIT=');

    expect(shown).toContain('Summary: approved 1, edited 1, dismissed 1, skipped 1; 2 still pending.');
    expect(shown).toContain('EXIT=0');
    expect(shown).toContain('✖ dismissed');

    const db = openDatabase(dbPath);
    const rows = proposals(db) as Array<{ status: string; decided_by: number | null; edited_note: string | null; drafted_note: string }>;
    expect(rows.map((row) => row.status)).toEqual(['approved', 'approved', 'dismissed', 'pending', 'pending']);
    expect(rows.slice(0, 3).every((row) => row.decided_by === JANE.userId)).toBe(true);
    expect(rows[1]!.edited_note).toBe(`${rows[1]!.drafted_note} Call booked.`);
    const notes = notesOf(db, ANN.investorId)!;
    expect(notes.notes!.split('\n')).toEqual([
      '2026-10-02 · First meeting at their office.',
      `${rows[0]!.drafted_note} — approved by Jane Doe`,
      `${rows[1]!.drafted_note} Call booked. — approved by Jane Doe`,
    ]);
    expect(notes.updated_by).toBe(JANE.userId);
    db.close();
  });

  it('Ctrl-C at the menu ends the review with exit 130; the decision made before it stays', async () => {
    const dbPath = join(dir, 'interrupt.db');
    await startReview(dbPath, 2);
    await waitFor('1 of 2 · proposal #1');
    keys('a', 'Enter');
    await waitFor('2 of 2 · proposal #2');
    keys('C-c');
    const shown = await waitFor('EXIT=');
    expect(shown).toContain('EXIT=130');
    expect(shown).toContain('Summary: approved 1, edited 0, dismissed 0, skipped 0; 1 still pending.');
    const db = openDatabase(dbPath);
    expect((proposals(db) as Array<{ status: string }>).map((row) => row.status)).toEqual(['approved', 'pending']);
    db.close();
  });

  it('an emptied edit or Esc goes back to the menu without deciding; Enter on the unchanged draft approves it', async () => {
    const dbPath = join(dir, 'cancel-edit.db');
    await startReview(dbPath, 2);
    await waitFor('1 of 2 · proposal #1');
    // Clear the prefilled draft (Ctrl-U: delete to the start of the line), then Enter.
    keys('e', 'Enter');
    await waitFor('Note (edit, then Enter):');
    keys('C-u');
    // The line is empty: input() shows the draft it would fall back to, in parentheses.
    await waitFor('Note (edit, then Enter): (2026-11-21');
    keys('Enter');
    await waitFor('edit cancelled: nothing decided, back to the menu');
    await waitFor('? Decision'); // answered menus collapse to a ✔ line: this is the menu shown again
    // Start typing a change, then think better of it: Esc.
    keys('e', 'Enter');
    await waitForCount('Note (edit, then Enter):', 2);
    typeText(' Not this.');
    keys('Escape');
    await waitForCount('edit cancelled: nothing decided, back to the menu', 2);
    await waitFor('? Decision');
    let db = openDatabase(dbPath);
    expect((proposals(db) as Array<{ status: string }>).map((row) => row.status)).toEqual(['pending', 'pending']);
    db.close();
    // Still proposal #1; accepting the draft as it stands approves it.
    keys('e', 'Enter');
    await waitForCount('Note (edit, then Enter):', 3);
    keys('Enter');
    await waitFor('2 of 2 · proposal #2');
    keys('q', 'Enter');
    const shown = await waitFor('EXIT=');
    expect(shown.split('1 of 2 · proposal #1')).toHaveLength(2); // the same proposal all along
    expect(shown).toContain('Note (edit, then Enter): (empty: nothing decided)');
    expect(shown).toContain('Summary: approved 1, edited 0, dismissed 0, skipped 0; 1 still pending.');
    expect(shown).toContain('EXIT=0');
    db = openDatabase(dbPath);
    const rows = proposals(db) as Array<{ status: string; edited_note: string | null; drafted_note: string }>;
    expect(rows.map((row) => row.status)).toEqual(['approved', 'pending']);
    expect(rows[0]!.edited_note).toBeNull();
    expect(notesOf(db, ANN.investorId)!.notes!.split('\n')).toEqual(['2026-10-02 · First meeting at their office.', `${rows[0]!.drafted_note} — approved by Jane Doe`]);
    db.close();
  });
});

/** A world with `count` pending proposals from Jane to Ann, and `crm-mail review` running in a fresh tmux session. */
async function startReview(dbPath: string, count: number): Promise<void> {
  spawnSync('tmux', ['-L', SOCKET, 'kill-session', '-t', SESSION]);
  const world = await makeWorld(dbPath);
  const since = Date.parse('2026-11-20T12:00:00Z');
  world.db.prepare("INSERT INTO app_settings (key, value) VALUES ('email_activity_since', ?)").run(new Date(since).toISOString());
  for (let index = 0; index < count; index++) {
    janeToAnn(world, `k${index}@x`, since + (index + 1) * DAY, { subject: `Topic ${index}`, body: `Line one of message ${index}. More text.` });
  }
  await runPropose(world.db, configFor({ CRM_MAIL_DRAFTER: 'rule' }), {});
  world.db.close();
  const command = `${BIN} review --as ${JANE.email} --db ${dbPath}; echo EXIT=$?; sleep 120`;
  tmux('new-session', '-d', '-s', SESSION, '-x', '160', '-y', '50', '-c', PROJECT_ROOT, `env -u CRM_MAIL_USER -u CRM_DB_PATH sh -c '${command}'`);
  await waitFor('? Decision');
}
