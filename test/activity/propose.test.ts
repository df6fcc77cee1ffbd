import { describe, expect, it } from 'vitest';
import { join } from 'node:path';
import { runPropose } from '../../src/activity/propose.js';
import { ConfigError, UsageError } from '../../src/errors.js';
import { tempDir } from '../helpers/tmp.js';
import { runCli } from '../helpers/cli.js';
import { ANN, CHARLES, DAY, JANE, OMAR, addMail, configFor, janeToAnn, makeWorld, proposals } from './helpers/world.js';

const RULE = configFor({ CRM_MAIL_DRAFTER: 'rule' });
const NOW = new Date('2026-11-20T12:00:00Z');
const LINE = /^\d{4}-\d{2}-\d{2} · (Sent|Received) · .+ ↔ .+: .+$/;

describe('propose: cutoff', () => {
  const dir = tempDir();

  it('sets the cutoff to now on the first run and never proposes mail dated before it', async () => {
    const world = await makeWorld(join(dir, 'first.db'));
    janeToAnn(world, 'old@x', NOW.getTime() - 30 * DAY);
    janeToAnn(world, 'just-before@x', NOW.getTime() - 1);
    const lines: string[] = [];
    const first = await runPropose(world.db, RULE, { now: NOW }, (line) => lines.push(line));
    expect(first).toMatchObject({ cutoff: NOW.toISOString(), cutoffWasSet: true, candidates: 0, proposed: 0, drafter: 'rule' });
    expect(lines.join('\n')).toContain(`email_activity_since set to ${NOW.toISOString()}`);
    expect(world.db.prepare("SELECT value FROM app_settings WHERE key = 'email_activity_since'").get()).toEqual({ value: NOW.toISOString() });

    janeToAnn(world, 'new@x', NOW.getTime() + DAY);
    const second = await runPropose(world.db, RULE, { now: new Date(NOW.getTime() + 2 * DAY) });
    expect(second).toMatchObject({ cutoff: NOW.toISOString(), cutoffWasSet: false, candidates: 1, proposed: 1 });
    expect(proposals(world.db).map((row) => row.message_key)).toEqual(['new@x']);
  });

  it("respects an admin's preset cutoff, and moves it only with --since and --force", async () => {
    const world = await makeWorld(join(dir, 'preset.db'));
    world.db.prepare("INSERT INTO app_settings (key, value) VALUES ('email_activity_since', '2026-11-01')").run();
    janeToAnn(world, 'oct@x', Date.parse('2026-10-15T10:00:00Z'));
    janeToAnn(world, 'nov@x', Date.parse('2026-11-05T10:00:00Z'));
    const run = await runPropose(world.db, RULE, { now: NOW });
    expect(run).toMatchObject({ cutoff: '2026-11-01', cutoffWasSet: false, proposed: 1 });
    expect(proposals(world.db).map((row) => row.message_key)).toEqual(['nov@x']);

    await expect(runPropose(world.db, RULE, { now: NOW, since: '2026-10-01' })).rejects.toThrow(UsageError);
    await expect(runPropose(world.db, RULE, { now: NOW, since: '2026-10-01' })).rejects.toThrow(/--force/);
    const lines: string[] = [];
    const moved = await runPropose(world.db, RULE, { now: NOW, since: '2026-10-01', force: true }, (line) => lines.push(line));
    expect(lines.join('\n')).toContain('email_activity_since 2026-11-01 -> 2026-10-01T00:00:00.000Z');
    expect(moved).toMatchObject({ cutoff: '2026-10-01T00:00:00.000Z', cutoffWasSet: true, proposed: 1 });
    expect(proposals(world.db).map((row) => row.message_key)).toEqual(['nov@x', 'oct@x']);

    const same: string[] = [];
    const unchanged = await runPropose(world.db, RULE, { now: NOW, since: '2026-10-01T00:00:00Z', force: true }, (line) => same.push(line));
    expect(same.join('\n')).toContain('cutoff unchanged: email_activity_since is already 2026-10-01T00:00:00.000Z');
    expect(same.join('\n')).not.toContain('->');
    expect(unchanged).toMatchObject({ cutoff: '2026-10-01T00:00:00.000Z', cutoffWasSet: false });
  });

  it('refuses a stored cutoff that is not a date, naming the setting', async () => {
    const world = await makeWorld(join(dir, 'badcutoff.db'));
    world.db.prepare("INSERT INTO app_settings (key, value) VALUES ('email_activity_since', 'last tuesday')").run();
    await expect(runPropose(world.db, RULE, { now: NOW })).rejects.toThrow(/email_activity_since = "last tuesday" is not a date/);
  });
});

describe('propose: candidates', () => {
  const dir = tempDir();

  async function worldAfterCutoff(name: string) {
    const world = await makeWorld(join(dir, name));
    world.db.prepare("INSERT INTO app_settings (key, value) VALUES ('email_activity_since', ?)").run(NOW.toISOString());
    return world;
  }

  it('makes one proposal per logical message across mailboxes, one per investor, none for bulk or deleted mail', async () => {
    const world = await worldAfterCutoff('cands.db');
    const at = NOW.getTime() + DAY;
    // The same message in Jane's (sender) and Omar's (cc) mailboxes.
    const janeCopy = janeToAnn(world, 'shared@x', at, { cc: [{ address: OMAR.email, name: OMAR.name }] });
    addMail(world.db, {
      accountId: world.omarAccount,
      messageKey: 'shared@x',
      dateMs: at + 2000,
      direction: 'sent',
      from: { address: JANE.email, name: JANE.name },
      to: [{ address: ANN.address, name: ANN.name }],
      cc: [{ address: OMAR.email, name: OMAR.name }],
      matches: [{ investorId: ANN.investorId, address: ANN.address }],
    });
    // One message to two investors: one proposal each.
    janeToAnn(world, 'two-investors@x', at + 10, {
      to: [{ address: ANN.address, name: ANN.name }, { address: CHARLES.address, name: CHARLES.name }],
      matches: [
        { investorId: ANN.investorId, address: ANN.address },
        { investorId: CHARLES.investorId, address: CHARLES.address },
      ],
    });
    janeToAnn(world, 'newsletter@x', at + 20, { isBulk: true });
    janeToAnn(world, 'deleted@x', at + 30, { deleted: true });
    addMail(world.db, {
      accountId: world.janeAccount,
      messageKey: 'internal@x',
      dateMs: at + 40,
      direction: 'internal',
      from: { address: JANE.email },
      to: [{ address: OMAR.email }],
      matches: [{ investorId: ANN.investorId, address: ANN.address }],
    });
    addMail(world.db, {
      accountId: world.janeAccount,
      messageKey: 'unmatched@x',
      dateMs: at + 50,
      from: { address: JANE.email },
      to: [{ address: 'someone@else.example' }],
    });

    const result = await runPropose(world.db, RULE, { now: NOW });
    expect(result).toMatchObject({ candidates: 3, proposed: 3, skippedExisting: 0, remaining: 0, failed: 0 });
    const rows = proposals(world.db);
    expect(rows.map((row) => [row.message_key, row.investor_id])).toEqual([
      ['shared@x', 1],
      ['two-investors@x', 1],
      ['two-investors@x', 2],
    ]);
    const shared = rows[0]!;
    expect(shared).toMatchObject({ email_id: janeCopy, direction: 'sent', status: 'pending', drafter: 'rule', model: null, message_date_ms: at });
    expect(shared.drafted_note).toMatch(LINE);
    expect(shared.drafted_note).toMatch(/ · Sent · Jane Doe, Omar Haddad ↔ Ann Lee: Wrote re "Fund III" — Thanks for your time today\.$/);
    // Names come from the CRM, never from the mail's display name ("Charles Brun" there): the seed's
    // cell for Cedar names no one for charles@, so the line gives the address (issue 17 item 4).
    expect(rows[2]!.drafted_note).toContain('↔ charles@cedarfo.com:');

    const again = await runPropose(world.db, RULE, { now: NOW });
    expect(again).toMatchObject({ candidates: 0, proposed: 0, remaining: 0 });
    expect(proposals(world.db)).toHaveLength(3);
  });

  it('dates and directions come from the data: a received message is "Received"', async () => {
    const world = await worldAfterCutoff('received.db');
    addMail(world.db, {
      accountId: world.janeAccount,
      messageKey: 'reply@x',
      dateMs: Date.parse('2026-11-25T15:00:00Z'),
      direction: 'received',
      subject: 'Re: Re: Fund III',
      from: { address: ANN.address, name: ANN.name },
      to: [{ address: JANE.email, name: JANE.name }],
      body: 'Hi Jane,\n\nWe are in for 5m. Legal will send comments on the side letter.\n\nOn Mon, Nov 23, 2026 Jane Doe <jane@northwind.vc> wrote:\n> Thanks for your time today.\n',
      matches: [{ investorId: ANN.investorId, address: ANN.address }],
    });
    await runPropose(world.db, RULE, { now: NOW });
    const [row] = proposals(world.db);
    expect(row!.drafted_note).toBe('2026-11-25 · Received · Jane Doe ↔ Ann Lee: They wrote re "Fund III" — We are in for 5m.');
  });

  it('bounds the work per run with --limit; the rest remains for the next run', async () => {
    const world = await worldAfterCutoff('limit.db');
    for (let index = 0; index < 7; index++) janeToAnn(world, `m${index}@x`, NOW.getTime() + index * 1000);
    const first = await runPropose(world.db, RULE, { now: NOW, limit: 3 });
    expect(first).toMatchObject({ candidates: 3, proposed: 3, remaining: 4 });
    expect(proposals(world.db).map((row) => row.message_key)).toEqual(['m0@x', 'm1@x', 'm2@x']);
    const second = await runPropose(world.db, RULE, { now: NOW, limit: 50 });
    expect(second).toMatchObject({ candidates: 4, proposed: 4, remaining: 0 });
    await expect(runPropose(world.db, RULE, { now: NOW, limit: 0 })).rejects.toThrow(UsageError);
  });

  it('a dry run drafts but stores nothing, not even the first-run cutoff', async () => {
    const world = await makeWorld(join(dir, 'dry.db'));
    world.db.prepare("INSERT INTO app_settings (key, value) VALUES ('email_activity_since', ?)").run(NOW.toISOString());
    janeToAnn(world, 'dry@x', NOW.getTime() + 5);
    const result = await runPropose(world.db, RULE, { now: NOW, dryRun: true });
    expect(result.preview).toHaveLength(1);
    expect(result.preview![0]!.note).toMatch(LINE);
    expect(proposals(world.db)).toHaveLength(0);
    const fresh = await makeWorld(join(dir, 'dry-fresh.db'));
    await runPropose(fresh.db, RULE, { now: NOW, dryRun: true });
    expect(fresh.db.prepare("SELECT value FROM app_settings WHERE key = 'email_activity_since'").get()).toBeUndefined();
  });

  it('without a model or an explicit drafter, refuses with how to configure one and changes nothing', async () => {
    const world = await makeWorld(join(dir, 'none.db'));
    const error = await runPropose(world.db, configFor({}), { now: NOW }).catch((caught: unknown) => caught);
    expect(error).toBeInstanceOf(ConfigError);
    expect((error as ConfigError).exitCode).toBe(2);
    expect((error as Error).message).toMatch(/CRM_MAIL_MODEL/);
    expect((error as Error).message).toMatch(/CRM_MAIL_DRAFTER=rule/);
    expect(world.db.prepare("SELECT value FROM app_settings WHERE key = 'email_activity_since'").get()).toBeUndefined();
    world.db.close();

    const cli = await runCli(['propose', '--db', join(dir, 'none.db')]);
    expect(cli.code).toBe(2);
    expect(cli.stderr).toMatch(/set CRM_MAIL_MODEL/);
  });

  it('enforces foreign keys: a proposal for an unknown investor or email is refused by SQLite', async () => {
    const world = await worldAfterCutoff('fk.db');
    const insert = world.db.prepare(
      "INSERT INTO email_activity_proposals (message_key, email_id, investor_id, drafted_note, drafter) VALUES ('k', ?, ?, 'n', 'rule')",
    );
    expect(() => insert.run(null, 999)).toThrow(/FOREIGN KEY constraint failed/);
    expect(() => insert.run(424242, 1)).toThrow(/FOREIGN KEY constraint failed/);
    expect(() => world.db.prepare('INSERT INTO fundraising_state (investor_id, notes, updated_by) VALUES (3, ?, 99)').run('x')).toThrow(/FOREIGN KEY/);
    // A decision by a user who does not exist is refused too.
    janeToAnn(world, 'fk@x', NOW.getTime() + DAY);
    await runPropose(world.db, RULE, { now: NOW });
    expect(() => world.db.prepare("UPDATE email_activity_proposals SET status = 'approved', decided_by = 99").run()).toThrow(/FOREIGN KEY/);
    expect(proposals(world.db)[0]).toMatchObject({ status: 'pending', decided_by: null });
  });
});
