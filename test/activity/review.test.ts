import { describe, expect, it } from 'vitest';
import { join } from 'node:path';
import { runPropose } from '../../src/activity/propose.js';
import { approveProposal, dismissProposal, resolveReviewer } from '../../src/activity/review.js';
import { openDatabase } from '../../src/db/open.js';
import { ConflictError, NotFoundError, UsageError } from '../../src/errors.js';
import { tempDir } from '../helpers/tmp.js';
import { runCli } from '../helpers/cli.js';
import { ANN, CHARLES, DAY, INACTIVE, JANE, OMAR, configFor, janeToAnn, makeWorld, notesOf, proposals, tinyModel, type World } from './helpers/world.js';

const RULE = configFor({ CRM_MAIL_DRAFTER: 'rule' });
const NOW = new Date('2026-11-20T12:00:00Z');

async function worldWithProposals(path: string, count: number, investor: 'ann' | 'charles' = 'ann'): Promise<World> {
  const world = await makeWorld(path);
  world.db.prepare("INSERT INTO app_settings (key, value) VALUES ('email_activity_since', ?)").run(NOW.toISOString());
  for (let index = 0; index < count; index++) {
    const extra =
      investor === 'charles'
        ? { to: [{ address: CHARLES.address, name: CHARLES.name }], matches: [{ investorId: CHARLES.investorId, address: CHARLES.address }] }
        : {};
    janeToAnn(world, `p${index}@x`, NOW.getTime() + (index + 1) * DAY, { subject: `Topic ${index}`, ...extra });
  }
  await runPropose(world.db, RULE, { now: NOW });
  return world;
}

describe('review: decisions', () => {
  const dir = tempDir();

  it('approve appends to the notes, newest at the bottom, stamped, with updated_by and updated_at', async () => {
    const world = await worldWithProposals(join(dir, 'approve.db'), 2);
    const [first, second] = proposals(world.db) as Array<{ id: number; drafted_note: string }>;
    const before = notesOf(world.db, ANN.investorId)!.notes;
    expect(before).toBe('2026-10-02 · First meeting at their office.');

    const jane = resolveReviewer(world.db, JANE.email);
    const omar = resolveReviewer(world.db, 'OMAR@northwind.vc ');
    approveProposal(world.db, first!.id, jane, undefined, new Date('2026-11-29T09:00:00Z'));
    approveProposal(world.db, second!.id, omar, undefined, new Date('2026-11-29T10:00:00Z'));

    const after = notesOf(world.db, ANN.investorId)!;
    expect(after.notes!.split('\n')).toEqual([
      before,
      `${first!.drafted_note} — approved by Jane Doe`,
      `${second!.drafted_note} — approved by Omar Haddad`,
    ]);
    expect(after.updated_by).toBe(OMAR.userId);
    expect(after.updated_at).toBe('2026-11-29T10:00:00.000Z');
    const rows = proposals(world.db);
    expect(rows[0]).toMatchObject({ status: 'approved', decided_by: JANE.userId, decided_at: '2026-11-29T09:00:00.000Z', final_note: `${first!.drafted_note} — approved by Jane Doe`, edited_note: null });
  });

  it('an edited note is what is appended, kept on one clean line; it creates the notes row when the investor has none', async () => {
    const world = await worldWithProposals(join(dir, 'edit.db'), 1, 'charles');
    expect(notesOf(world.db, CHARLES.investorId)!.notes).toBeNull();
    world.db.prepare('DELETE FROM fundraising_state WHERE investor_id = ?').run(CHARLES.investorId);
    const [proposal] = proposals(world.db) as Array<{ id: number }>;
    const jane = resolveReviewer(world.db, JANE.email);
    const result = approveProposal(world.db, proposal!.id, jane, '2026-11-21 · Sent · Jane Doe ↔ Charles Brun: Sent the LPA\n\u001b[31mdraft\u0007.');
    expect(result.edited).toBe(true);
    expect(result.appendedLine).toBe('2026-11-21 · Sent · Jane Doe ↔ Charles Brun: Sent the LPA draft. — approved by Jane Doe');
    expect(notesOf(world.db, CHARLES.investorId)).toMatchObject({ notes: result.appendedLine, updated_by: JANE.userId });
    expect(proposals(world.db)[0]).toMatchObject({ edited_note: '2026-11-21 · Sent · Jane Doe ↔ Charles Brun: Sent the LPA draft.', final_note: result.appendedLine });
    expect(() => approveProposal(world.db, proposal!.id, jane, '   ')).toThrow(UsageError);
  });

  it('appends after a concurrent edit of the notes by the web app, never overwriting it', async () => {
    const world = await worldWithProposals(join(dir, 'webedit.db'), 1);
    const [proposal] = proposals(world.db) as Array<{ id: number; drafted_note: string }>;
    const web = openDatabase(world.path);
    web.prepare("UPDATE fundraising_state SET notes = notes || char(10) || 'Typed in the web app.' WHERE investor_id = 1").run();
    web.close();
    approveProposal(world.db, proposal!.id, resolveReviewer(world.db, JANE.email));
    expect(notesOf(world.db, ANN.investorId)!.notes!.split('\n').slice(-2)).toEqual(['Typed in the web app.', `${proposal!.drafted_note} — approved by Jane Doe`]);
  });

  it('dismiss decides without touching the notes; a second decision is refused naming who and when', async () => {
    const world = await worldWithProposals(join(dir, 'dismiss.db'), 1);
    const [proposal] = proposals(world.db) as Array<{ id: number }>;
    const before = notesOf(world.db, ANN.investorId);
    const jane = resolveReviewer(world.db, JANE.email);
    const omar = resolveReviewer(world.db, OMAR.email);
    dismissProposal(world.db, proposal!.id, jane, new Date('2026-11-29T08:00:00Z'));
    expect(notesOf(world.db, ANN.investorId)).toEqual(before);
    expect(proposals(world.db)[0]).toMatchObject({ status: 'dismissed', decided_by: JANE.userId, final_note: null });

    for (const attempt of [() => approveProposal(world.db, proposal!.id, omar), () => dismissProposal(world.db, proposal!.id, omar)]) {
      let error: unknown;
      try {
        attempt();
      } catch (caught) {
        error = caught;
      }
      expect(error).toBeInstanceOf(ConflictError);
      expect((error as ConflictError).exitCode).toBe(8);
      expect((error as Error).message).toBe('proposal 1 was already dismissed by Jane Doe <jane@northwind.vc> at 2026-11-29T08:00:00.000Z; nothing changed.');
    }
    expect(notesOf(world.db, ANN.investorId)).toEqual(before);
    expect(() => approveProposal(world.db, 999, omar)).toThrow(NotFoundError);
  });

  it('refuses an unknown, inactive or missing reviewer', async () => {
    const world = await makeWorld(join(dir, 'reviewer.db'));
    expect(() => resolveReviewer(world.db, 'nobody@northwind.vc')).toThrow(NotFoundError);
    expect(() => resolveReviewer(world.db, INACTIVE)).toThrow(/not an active CRM user/);
    expect(() => resolveReviewer(world.db, undefined)).toThrow(/--as/);
    expect(resolveReviewer(world.db, 'Jane@Northwind.VC')).toMatchObject({ id: 1, name: 'Jane Doe' });
  });
});

describe('review: scriptable CLI and concurrent processes', () => {
  const dir = tempDir();

  it('lists as JSON, approves with --note and dismisses; exit codes for unknown, inactive and already decided', async () => {
    const path = join(dir, 'cli.db');
    const world = await worldWithProposals(path, 3);
    world.db.close();
    const list = await runCli(['review', 'list', '--json', '--db', path]);
    expect(list.code).toBe(0);
    const items = JSON.parse(list.stdout) as Array<Record<string, unknown>>;
    expect(items).toHaveLength(3);
    expect(items[0]).toMatchObject({ id: 1, status: 'pending', investorId: 1, messageId: '<p0@x>', createdAt: expect.any(String) });
    expect(items[0]!.note).toMatch(/^2026-11-21 · Sent · Jane Doe ↔ Ann Lee: Wrote re "Topic 0"/);

    const approve = await runCli(['review', 'approve', '1', '--as', JANE.email, '--note', 'Custom line.', '--db', path]);
    expect(approve.code, approve.stderr).toBe(0);
    expect(approve.stdout).toContain('Custom line. — approved by Jane Doe');
    const dismiss = await runCli(['review', 'dismiss', '2', '--db', path], { env: { CRM_MAIL_USER: OMAR.email } });
    expect(dismiss.code, dismiss.stderr).toBe(0);

    const again = await runCli(['review', 'approve', '2', '--as', JANE.email, '--db', path]);
    expect(again.code).toBe(8);
    expect(again.stderr).toMatch(/proposal 2 was already dismissed by Omar Haddad <omar@northwind.vc> at \d{4}-\d{2}-\d{2}T/);
    const inactive = await runCli(['review', 'approve', '3', '--as', INACTIVE, '--db', path]);
    expect(inactive.code).toBe(2);
    expect(inactive.stderr).toMatch(/not an active CRM user/);
    const unknown = await runCli(['review', 'dismiss', '3', '--as', 'ghost@northwind.vc', '--db', path]);
    expect(unknown.code).toBe(7);

    const pending = JSON.parse((await runCli(['review', 'list', '--status', 'pending', '--json', '--db', path])).stdout) as Array<{ id: number }>;
    expect(pending.map((item) => item.id)).toEqual([3]);
    const approved = JSON.parse((await runCli(['review', 'list', '--status', 'approved', '--json', '--db', path])).stdout) as Array<{ note: string; decidedBy: string }>;
    expect(approved).toEqual([expect.objectContaining({ note: 'Custom line. — approved by Jane Doe', decidedBy: JANE.email })]);
    const human = await runCli(['review', 'list', '--status', 'all', '--db', path]);
    expect(human.stdout).toMatch(/#1 {2}approved .*\[approved by Jane Doe <jane@northwind\.vc>, \d{4}-\d{2}-\d{2} \d{2}:\d{2} UTC\]/);
    expect(human.stdout).toMatch(/#2 {2}dismissed .*\[dismissed by Omar Haddad <omar@northwind\.vc>, /);
    expect(human.stdout).not.toMatch(/#3 .*\[/);
  });

  it('two processes racing to decide one proposal: exactly one decision and one appended line', async () => {
    const path = join(dir, 'race.db');
    const world = await worldWithProposals(path, 4);
    world.db.close();
    for (const id of [1, 2, 3, 4]) {
      const [a, b] = await Promise.all([
        runCli(['review', 'approve', String(id), '--as', JANE.email, '--db', path]),
        id % 2 === 0
          ? runCli(['review', 'dismiss', String(id), '--as', OMAR.email, '--db', path])
          : runCli(['review', 'approve', String(id), '--as', OMAR.email, '--db', path]),
      ]);
      expect([a.code, b.code].sort(), `${a.stderr}\n${b.stderr}`).toEqual([0, 8]);
      expect((a.code === 8 ? a : b).stderr).toMatch(new RegExp(`proposal ${id} was already (approved|dismissed) by`));
    }
    const db = openDatabase(path);
    const rows = proposals(db) as Array<{ status: string; final_note: string | null }>;
    expect(rows.every((row) => row.status !== 'pending')).toBe(true);
    const appended = rows.filter((row) => row.status === 'approved').map((row) => row.final_note);
    const notes = notesOf(db, ANN.investorId)!.notes!.split('\n');
    expect(notes.slice(1)).toEqual(appended);
    expect(notes).toHaveLength(1 + appended.length);
    db.close();
  });

  it('two propose processes at once create no duplicates (the unique key decides, not a check)', async () => {
    // The tiny model makes each run last seconds (model load, then about 0.1-0.5 s a note), so
    // both processes select the same candidates before either has inserted: they really race.
    const path = join(dir, 'propose-race.db');
    const modelPath = tinyModel(dir);
    const world = await makeWorld(path);
    world.db.prepare("INSERT INTO app_settings (key, value) VALUES ('email_activity_since', ?)").run(NOW.toISOString());
    for (let index = 0; index < 8; index++) janeToAnn(world, `race${index}@x`, NOW.getTime() + index * 1000);
    world.db.close();
    const env = { CRM_MAIL_MODEL: modelPath, CRM_MAIL_MODEL_THREADS: '1' };
    const [a, b] = await Promise.all([
      runCli(['propose', '--json', '--db', path], { env }),
      runCli(['propose', '--json', '--db', path], { env }),
    ]);
    expect(a.code, a.stderr).toBe(0);
    expect(b.code, b.stderr).toBe(0);
    const ra = JSON.parse(a.stdout) as { proposed: number; skippedExisting: number; candidates: number };
    const rb = JSON.parse(b.stdout) as { proposed: number; skippedExisting: number; candidates: number };
    expect(ra.proposed + rb.proposed).toBe(8);
    expect(ra.proposed + ra.skippedExisting + rb.proposed + rb.skippedExisting).toBe(ra.candidates + rb.candidates);
    const db = openDatabase(path);
    expect(db.prepare('SELECT count(*) AS n, count(DISTINCT message_key) AS k FROM email_activity_proposals').get()).toEqual({ n: 8, k: 8 });
    db.close();
    const third = await runCli(['propose', '--json', '--db', path], { env });
    expect(JSON.parse(third.stdout)).toMatchObject({ candidates: 0, proposed: 0 });
  });
});
