/**
 * The demo CRM, as the firm's web app would have it before crm-mail arrives: the partners, a
 * former partner (inactive) and an outside advisor (not in the Workspace domain), the generated
 * investors with their email cells exactly as typed, and a few existing fundraising notes.
 */
import type { Db } from '../db/open.js';
import { insertCrmFixture } from '../db/crm.js';
import type { Scenario } from '../emulator/index.js';

export interface SeedSummary {
  partners: number;
  users: number;
  investors: number;
  notes: number;
}

function day(ms: number): string {
  return new Date(ms).toISOString().slice(0, 10);
}

export function seedDemoCrm(db: Db, scenario: Scenario): SeedSummary {
  const users = [
    ...scenario.partners.map((partner, index) => ({ id: index + 1, email: partner.email, name: partner.name })),
    { id: scenario.partners.length + 1, email: `former.partner@${scenario.domain}`, name: 'Former Partner', isActive: false },
    { id: scenario.partners.length + 2, email: 'advisor@outside-counsel.example', name: 'Outside Advisor' },
  ];
  const start = scenario.options.start.getTime();
  const span = scenario.options.end.getTime() - start;
  const institutions = scenario.investors.filter((investor) => investor.firm !== null);
  const noted = institutions.slice(0, 3);
  const notes = noted.map((investor, index) => {
    const first = start + span * (0.2 + index * 0.1);
    const second = start + span * (0.5 + index * 0.1);
    return {
      investorId: investor.id,
      notes: `${day(first)} · Intro meeting; interested in Fund III.\n${day(second)} · Sent the deck and the track record.`,
      updatedAt: new Date(second).toISOString(),
      updatedBy: (index % scenario.partners.length) + 1,
    };
  });
  insertCrmFixture(db, {
    users,
    investors: scenario.investors.map((investor) => ({ id: investor.id, name: investor.name, email: investor.emailCell, firm: investor.firm })),
    notes,
  });
  return { partners: scenario.partners.length, users: users.length, investors: scenario.investors.length, notes: notes.length };
}
