import { describe, expect, it } from 'vitest';
import { join } from 'node:path';
import { runPropose } from '../../src/activity/propose.js';
import { removeAccount } from '../../src/db/accounts.js';
import { tempDir } from '../helpers/tmp.js';
import { ANN, DAY, JANE, OMAR, addMail, configFor, janeToAnn, makeWorld, proposals } from './helpers/world.js';

const NOW = new Date('2026-11-20T12:00:00Z');

describe('accounts remove and pending proposals', () => {
  it('a proposal keeps its email link when another mailbox holds a copy, and loses it only when none does', async () => {
    const world = await makeWorld(join(tempDir(), 'remove.db'));
    world.db.prepare("INSERT INTO app_settings (key, value) VALUES ('email_activity_since', ?)").run(NOW.toISOString());
    // One message in both partners' mailboxes (Omar was copied), one only in Jane's.
    const shared = janeToAnn(world, 'shared@x', NOW.getTime() + DAY, { cc: [{ address: OMAR.email, name: OMAR.name }] });
    const omarCopy = addMail(world.db, {
      accountId: world.omarAccount,
      messageKey: 'shared@x',
      dateMs: NOW.getTime() + DAY,
      direction: 'received',
      from: { address: JANE.email, name: JANE.name },
      to: [{ address: ANN.address, name: ANN.name }],
      cc: [{ address: OMAR.email, name: OMAR.name }],
      matches: [{ investorId: ANN.investorId, address: ANN.address }],
    });
    janeToAnn(world, 'solo@x', NOW.getTime() + 2 * DAY);
    await runPropose(world.db, configFor({ CRM_MAIL_DRAFTER: 'rule' }), { now: NOW });
    expect(proposals(world.db)).toHaveLength(2);
    // The proposal points at Jane's copy, the one that goes.
    world.db.prepare("UPDATE email_activity_proposals SET email_id = ? WHERE message_key = 'shared@x'").run(shared);

    removeAccount(world.db, world.janeAccount);

    const after = new Map(proposals(world.db).map((row) => [row.message_key as string, row.email_id as number | null]));
    expect(after.get('shared@x')).toBe(omarCopy);
    expect(after.get('solo@x')).toBeNull();
    world.db.close();
  });
});
