import { join } from 'node:path';
import { beforeAll, describe, expect, it } from 'vitest';
import { runCli } from '../helpers/cli.js';
import { tempDir } from '../helpers/tmp.js';
import { migratedDb } from './db.js';

const dir = tempDir('crm-mail-enroll-');
const dbPath = join(dir, 'crm.db');
const env = { CRM_DB_PATH: dbPath, CRM_GMAIL_WORKSPACE_DOMAIN: 'northwind.vc', CRM_GMAIL_INTEGRATION_ENABLED: 'true' };
const off = { CRM_DB_PATH: dbPath, CRM_GMAIL_WORKSPACE_DOMAIN: 'northwind.vc' };

beforeAll(async () => {
  (await migratedDb(dbPath, { seed: true })).close();
});

describe('enroll, enroll-all, accounts', () => {
  it('refuses an unknown, an inactive and an outside-domain user, each with its reason', async () => {
    const unknown = await runCli(['enroll', 'nobody@northwind.vc'], { env });
    expect(unknown.code).toBe(7);
    expect(unknown.stderr).toContain('nobody@northwind.vc is not a user in the CRM');
    const inactive = await runCli(['enroll', 'former@northwind.vc'], { env });
    expect(inactive.code).toBe(2);
    expect(inactive.stderr).toContain('former@northwind.vc is inactive in the CRM');
    const outside = await runCli(['enroll', 'advisor@outside.example'], { env });
    expect(outside.code).toBe(2);
    expect(outside.stderr).toContain('outside the workspace domain northwind.vc');
  });

  it('enrolls one user (case-insensitively), and a second enroll is harmless', async () => {
    const first = await runCli(['enroll', 'Jane@Northwind.VC'], { env });
    expect(first.code).toBe(0);
    expect(first.stdout).toContain('added    jane@northwind.vc');
    const again = await runCli(['enroll', 'jane@northwind.vc'], { env });
    expect(again.code).toBe(0);
    expect(again.stdout).toContain('already  jane@northwind.vc');
  });

  it('enroll-all adds the other active domain users and reports the skipped ones with reasons', async () => {
    const result = await runCli(['--json', 'enroll-all'], { env });
    expect(result.code).toBe(0);
    const report = JSON.parse(result.stdout) as { added: number; already: number; skipped: number; users: Array<{ email: string; result: string; code?: string }> };
    expect(report).toMatchObject({ added: 2, already: 1, skipped: 2 });
    const byEmail = Object.fromEntries(report.users.map((user) => [user.email, user]));
    expect(byEmail['jane@northwind.vc']).toMatchObject({ result: 'already' });
    expect(byEmail['omar@northwind.vc']).toMatchObject({ result: 'added' });
    expect(byEmail['li@northwind.vc']).toMatchObject({ result: 'added' });
    expect(byEmail['former@northwind.vc']).toMatchObject({ result: 'skipped', code: 'inactive' });
    expect(byEmail['advisor@outside.example']).toMatchObject({ result: 'skipped', code: 'outside_domain' });
    const human = await runCli(['enroll-all'], { env });
    expect(human.stdout).toContain('0 added, 3 already enrolled, 2 skipped');
    expect(human.stdout).toMatch(/skipped {2}former@northwind.vc: former@northwind.vc is inactive in the CRM/);
  });

  it('needs the workspace domain to enroll', async () => {
    const result = await runCli(['enroll-all'], { env: { CRM_DB_PATH: dbPath, CRM_GMAIL_INTEGRATION_ENABLED: 'true' } });
    expect(result.code).toBe(2);
    expect(result.stderr).toContain('CRM_GMAIL_WORKSPACE_DOMAIN is not set');
  });

  it('refuses everything that talks to Google while the integration is off (exit 3); bookkeeping runs and says it is off', async () => {
    for (const args of [['sync'], ['verify'], ['rematch', '--remote'], ['enroll', 'jane@northwind.vc'], ['enroll-all'], ['auth', 'oauth', 'jane@northwind.vc']]) {
      const result = await runCli(args, { env: off });
      expect(result.code, args.join(' ')).toBe(3);
      expect(result.stderr).toContain('CRM_GMAIL_INTEGRATION_ENABLED=true');
    }
    const list = await runCli(['accounts'], { env: off });
    expect(list.code).toBe(0);
    expect(list.stderr).toContain('note: the Gmail integration is off');
    expect((await runCli(['accounts'], { env })).stderr).not.toContain('integration is off');
  });

  it('lists, pauses, resumes and removes accounts', async () => {
    const list = await runCli(['--json', 'accounts'], { env });
    expect((JSON.parse(list.stdout) as Array<{ email: string }>).map((row) => row.email)).toEqual(['jane@northwind.vc', 'li@northwind.vc', 'omar@northwind.vc']);
    expect((await runCli(['accounts', 'pause', 'li@northwind.vc'], { env })).stdout).toContain('li@northwind.vc: paused');
    const table = await runCli(['accounts'], { env });
    expect(table.stdout).toMatch(/li@northwind\.vc\s*│\s*paused/);
    expect((await runCli(['accounts', 'resume', 'li@northwind.vc'], { env })).stdout).toContain('resumed');
    const dry = await runCli(['accounts', 'remove', 'li@northwind.vc'], { env });
    expect(dry.code).toBe(2);
    expect(dry.stdout).toContain('would remove li@northwind.vc with 0 stored messages');
    const removed = await runCli(['accounts', 'remove', 'li@northwind.vc', '--yes'], { env });
    expect(removed.code).toBe(0);
    const after = await runCli(['--json', 'accounts'], { env });
    expect((JSON.parse(after.stdout) as Array<{ email: string }>).map((row) => row.email)).toEqual(['jane@northwind.vc', 'omar@northwind.vc']);
    expect((await runCli(['accounts', 'pause', 'li@northwind.vc'], { env })).code).toBe(7);
  });
});
