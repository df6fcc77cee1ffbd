import { describe, expect, it } from 'vitest';
import { writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { accountQuotaBudget, loadConfig, parseEnvFile } from '../../src/config.js';
import { QUOTA_MODELS } from '../../src/gmail/quotaModel.js';
import { checkQuotaModel } from '../../src/doctor/settingsChecks.js';
import { ConfigError } from '../../src/errors.js';
import { runCli } from '../helpers/cli.js';
import { tempDir } from '../helpers/tmp.js';

const SECRET = 'c2VjcmV0LWtleS0zMi1ieXRlcy1sb25nLWFhYWFhYWE='; // base64 of 32 bytes
const CLIENT_SECRET = 'GOCSPX-very-secret-value';

describe('configuration', () => {
  it('has the documented defaults', () => {
    const config = loadConfig({});
    expect(config).toMatchObject({
      integrationEnabled: false,
      authMethod: 'dwd',
      syncIntervalMin: 15,
      backfillPageSize: 500,
      maxAttachmentMb: 50,
      attachConcurrency: 4,
      maxInFlight: 5,
      quotaModel: '2026',
      rateUnitsPerMin: 5400,
      rateUnitsPerSec: 150,
      projectUnitsPerMin: 1_080_000,
      syncMaxMin: 13,
      retryMax: 5,
      historyStaleDays: 5,
      dbPath: './data/crm.db',
      attachmentsDir: 'data/email_attachments',
      capture: 'matched',
    });
    expect(Object.isFrozen(config)).toBe(true);
    expect(loadConfig({ CRM_GMAIL_SECRET_KEY: SECRET }).secretKey?.length).toBe(32);
    // The time budget follows the cron interval unless set.
    expect(loadConfig({ CRM_GMAIL_SYNC_INTERVAL_MIN: '30' }).syncMaxMin).toBe(28);
    expect(loadConfig({ CRM_GMAIL_SYNC_INTERVAL_MIN: '2' }).syncMaxMin).toBe(1);
    expect(loadConfig({ CRM_GMAIL_SYNC_MAX_MIN: '45' }).syncMaxMin).toBe(45);
  });

  it('keeps its quota defaults in step with the quota models', () => {
    const config = loadConfig({});
    expect(config.rateUnitsPerMin).toBe(QUOTA_MODELS['2026'].defaultBudget);
    expect(config.rateUnitsPerSec).toBe(QUOTA_MODELS.legacy.defaultBudget);
    expect(accountQuotaBudget(config)).toBe(5400);
    expect(accountQuotaBudget(loadConfig({ CRM_GMAIL_QUOTA_MODEL: 'Legacy' }))).toBe(150);
    expect(QUOTA_MODELS['2026'].units['messages.get']).toBe(20);
    expect(QUOTA_MODELS.legacy.units['messages.get']).toBe(5);
  });

  it('doctor warns when the budget is above what Gmail allows for the model in force', () => {
    expect(checkQuotaModel(loadConfig({})).level).toBe('OK');
    const over = checkQuotaModel(loadConfig({ CRM_GMAIL_RATE_UNITS_MIN: '7000' }));
    expect(over.level).toBe('WARN');
    expect(over.message).toMatch(/above Gmail's per-user limit/);
    expect(over.fix).toMatch(/lower CRM_GMAIL_RATE_UNITS_MIN below 6000/);
    expect(checkQuotaModel(loadConfig({ CRM_GMAIL_QUOTA_MODEL: 'legacy', CRM_GMAIL_RATE_UNITS_SEC: '300' })).fix).toMatch(/CRM_GMAIL_RATE_UNITS_SEC below 250/);
  });

  const bad: Array<[string, string, RegExp]> = [
    ['CRM_GMAIL_INTEGRATION_ENABLED', 'maybe', /true or false/],
    ['CRM_GMAIL_AUTH_METHOD', 'password', /one of dwd, oauth/],
    ['CRM_GMAIL_SYNC_INTERVAL_MIN', '0', /whole number from 1 to 1440/],
    ['CRM_GMAIL_BACKFILL_PAGE_SIZE', '501', /from 1 to 500/],
    ['CRM_GMAIL_MAX_ATTACHMENT_MB', 'big', /whole number/],
    ['CRM_GMAIL_ATTACH_CONCURRENCY', '-1', /whole number/],
    ['CRM_GMAIL_RATE_UNITS_SEC', '1.5', /whole number/],
    ['CRM_GMAIL_QUOTA_MODEL', '2025', /one of 2026, legacy/],
    ['CRM_GMAIL_RATE_UNITS_MIN', '0', /whole number from 1 to/],
    ['CRM_GMAIL_PROJECT_UNITS_MIN', 'lots', /whole number/],
    ['CRM_GMAIL_SYNC_MAX_MIN', '0', /whole number from 1 to 1440/],
    ['CRM_GMAIL_RETRY_MAX', '99', /from 0 to 20/],
    ['CRM_GMAIL_HISTORY_STALE_DAYS', 'x', /whole number/],
    ['CRM_GMAIL_WORKSPACE_DOMAIN', 'not a domain', /domain name/],
    ['CRM_GMAIL_API_ROOT', 'ftp://x', /http/],
    ['CRM_GMAIL_TOKEN_URL', 'nope', /http/],
    ['CRM_GMAIL_OAUTH_REDIRECT_URI', 'nope', /http/],
    ['CRM_MAIL_DRAFTER', 'gpt', /one of llama, rule/],
    ['CRM_GMAIL_CAPTURE', 'some', /one of matched, all/],
  ];
  for (const [name, value, allowed] of bad) {
    it(`rejects ${name}=${value} with a message naming it, and exit code 2`, async () => {
      expect(() => loadConfig({ [name]: value })).toThrow(ConfigError);
      expect(() => loadConfig({ [name]: value })).toThrow(allowed);
      const result = await runCli(['config'], { env: { [name]: value } });
      expect(result.code).toBe(2);
      expect(result.stderr).toContain(name);
      expect(result.stderr).toContain(JSON.stringify(value));
      expect(result.stdout).toBe('');
    });
  }

  it('masks a bad secret key in the error', async () => {
    const result = await runCli(['config'], { env: { CRM_GMAIL_SECRET_KEY: 'short-but-secret' } });
    expect(result.code).toBe(2);
    expect(result.stderr).toContain('CRM_GMAIL_SECRET_KEY');
    expect(result.stderr).toContain('32 random bytes');
    expect(result.stderr + result.stdout).not.toContain('short-but-secret');
  });

  it('requires a model for the llama drafter', () => {
    expect(() => loadConfig({ CRM_MAIL_DRAFTER: 'llama' })).toThrow(/needs CRM_MAIL_MODEL/);
  });

  it('prints the effective configuration with secrets masked, from an --env-file', async () => {
    const dir = tempDir();
    const envFile = join(dir, '.env.beta');
    writeFileSync(
      envFile,
      [
        '# beta rollout',
        'CRM_GMAIL_INTEGRATION_ENABLED=true',
        'export CRM_GMAIL_WORKSPACE_DOMAIN=northwind.vc',
        `CRM_GMAIL_OAUTH_CLIENT_SECRET="${CLIENT_SECRET}"`,
        `CRM_GMAIL_SECRET_KEY=${SECRET}`,
        'CRM_GMAIL_RATE_UNITS_SEC=200  # below Gmail\'s 250',
      ].join('\n'),
    );
    const result = await runCli(['--env-file', envFile, 'config', '--json']);
    expect(result.code, result.stderr).toBe(0);
    const shown = JSON.parse(result.stdout) as { integrationEnabled: boolean; variables: Array<{ name: string; value: string; source: string }> };
    const byName = Object.fromEntries(shown.variables.map((v) => [v.name, v]));
    expect(shown.integrationEnabled).toBe(true);
    expect(byName.CRM_GMAIL_WORKSPACE_DOMAIN).toMatchObject({ value: 'northwind.vc', source: 'env-file', file: envFile, line: 3 });
    expect(byName.CRM_GMAIL_RATE_UNITS_SEC).toMatchObject({ value: '200', source: 'env-file', file: envFile, line: 6 });
    expect(byName.CRM_GMAIL_BACKFILL_PAGE_SIZE).toMatchObject({ value: '500', source: 'default' });
    expect(byName.CRM_GMAIL_SECRET_KEY!.value).toBe('********');
    expect(result.stdout).not.toContain(CLIENT_SECRET);
    expect(result.stdout).not.toContain(SECRET);

    expect(byName.CRM_GMAIL_QUOTA_MODEL).toMatchObject({ value: '2026', source: 'default' });
    expect(byName.CRM_GMAIL_SYNC_MAX_MIN).toMatchObject({ value: '13', source: 'default' });

    const human = await runCli(['--env-file', envFile, 'config']);
    expect(human.stdout).toContain('CRM_GMAIL_RATE_UNITS_SEC');
    expect(human.stdout).toContain('quota: 2026 model: Gmail allows 6,000 units per minute per user, messages.get costs 20; crm-mail spends at most 5,400 per minute per account');
    expect(human.stdout).toContain("which model your project has: Cloud console > APIs & Services > Gmail API > Quotas");
    const legacy = await runCli(['--env-file', envFile, 'config'], { env: { CRM_GMAIL_QUOTA_MODEL: 'legacy' } });
    expect(legacy.stdout).toContain('quota: legacy model: Gmail allows 250 units per second per user, messages.get costs 5; crm-mail spends at most 200 per second per account');
    expect(human.stdout).not.toContain(CLIENT_SECRET);
  });

  it('reports an unreadable --env-file and a malformed line', async () => {
    const missing = await runCli(['--env-file', '/nonexistent/.env', 'config']);
    expect(missing.code).toBe(2);
    expect(missing.stderr).toContain('cannot read --env-file /nonexistent/.env');
    expect(() => parseEnvFile('GOOD=1\nthis is not an assignment', '.env.x')).toThrow(/\.env\.x line 2 is not KEY=VALUE/);
  });

  it('keeps a variable set in the environment over the file', async () => {
    const dir = tempDir();
    const envFile = join(dir, '.env');
    writeFileSync(envFile, 'CRM_GMAIL_RETRY_MAX=3\n');
    const result = await runCli(['--env-file', envFile, 'config', '--json'], { env: { CRM_GMAIL_RETRY_MAX: '7' } });
    const shown = JSON.parse(result.stdout) as { variables: Array<{ name: string; value: string }> };
    expect(shown.variables.find((v) => v.name === 'CRM_GMAIL_RETRY_MAX')?.value).toBe('7');
  });

  it('warns about every unknown CRM_* key of an env file, with its line and the closest known name', async () => {
    const dir = tempDir();
    const envFile = join(dir, 'crm-mail.env');
    writeFileSync(
      envFile,
      ['CRM_GMAIL_INTEGRATION_ENABLE=true', 'OTHER_TOOL_SETTING=1', '# comment', 'CRM_GMIAL_EXCLUDE=lawfirm.com', 'CRM_WEB_PORT=8080', 'CRM_GMAIL_RETRY_MAX=3'].join('\n'),
    );
    const result = await runCli(['--env-file', envFile, 'config', '--json']);
    expect(result.code, result.stderr).toBe(0);
    expect(result.stderr).toContain(`warning: ${envFile} line 1: CRM_GMAIL_INTEGRATION_ENABLE is not a crm-mail setting and is ignored (did you mean CRM_GMAIL_INTEGRATION_ENABLED?)`);
    expect(result.stderr).toContain(`warning: ${envFile} line 4: CRM_GMIAL_EXCLUDE is not a crm-mail setting and is ignored (did you mean CRM_GMAIL_EXCLUDE?)`);
    expect(result.stderr).toContain(`warning: ${envFile} line 5: CRM_WEB_PORT is not a crm-mail setting and is ignored (crm-mail does not read it)`);
    expect(result.stderr).not.toContain('OTHER_TOOL_SETTING');
    expect(result.stderr.trim().split('\n')).toHaveLength(3);
    const shown = JSON.parse(result.stdout) as { integrationEnabled: boolean };
    expect(shown.integrationEnabled).toBe(false);
  });

  it('reports every bad value at once, each with the env file and line it came from', async () => {
    const dir = tempDir();
    const envFile = join(dir, 'crm-mail.env');
    writeFileSync(envFile, ['CRM_GMAIL_INTEGRATION_ENABLED=maybe', 'CRM_GMAIL_RETRY_MAX=99', 'CRM_GMAIL_CAPTURE=some'].join('\n'));
    const result = await runCli(['--env-file', envFile, 'config'], { env: { CRM_GMAIL_AUTH_METHOD: 'password' } });
    expect(result.code).toBe(2);
    expect(result.stdout).toBe('');
    expect(result.stderr).toContain('4 settings are not valid:');
    expect(result.stderr).toContain(`CRM_GMAIL_INTEGRATION_ENABLED="maybe" is not valid: expected true or false. (${envFile} line 1)`);
    expect(result.stderr).toContain(`CRM_GMAIL_RETRY_MAX="99" is not valid: expected a whole number from 0 to 20. (${envFile} line 2)`);
    expect(result.stderr).toContain(`(${envFile} line 3)`);
    // From the environment: no file to name.
    expect(result.stderr).toMatch(/CRM_GMAIL_AUTH_METHOD="password" is not valid: expected one of dwd, oauth\.\n/);
    expect(() => parseEnvFile('A=1\nnot one\nB=2\nnor this', '.env.x')).toThrow(/\.env\.x lines 2, 4 are not KEY=VALUE/);
  });

  it('config says where each value came from: the environment, the env file and line, or the default', async () => {
    const dir = tempDir();
    const envFile = join(dir, 'crm-mail.env');
    writeFileSync(envFile, ['# settings', 'CRM_GMAIL_RETRY_MAX=3', 'CRM_GMAIL_CAPTURE=all'].join('\n'));
    const env = { CRM_GMAIL_CAPTURE: 'matched', CRM_GMAIL_HISTORY_STALE_DAYS: '9' };
    const json = await runCli(['--env-file', envFile, 'config', '--json'], { env });
    const byName = Object.fromEntries((JSON.parse(json.stdout) as { variables: Array<{ name: string }> }).variables.map((v) => [v.name, v]));
    expect(byName.CRM_GMAIL_RETRY_MAX).toEqual(expect.objectContaining({ value: '3', source: 'env-file', file: envFile, line: 2 }));
    expect(byName.CRM_GMAIL_CAPTURE).toEqual(expect.objectContaining({ value: 'matched', source: 'environment' }));
    expect(byName.CRM_GMAIL_CAPTURE).not.toHaveProperty('file');
    expect(byName.CRM_GMAIL_HISTORY_STALE_DAYS).toEqual(expect.objectContaining({ value: '9', source: 'environment' }));
    expect(byName.CRM_GMAIL_SYNC_INTERVAL_MIN).toEqual(expect.objectContaining({ value: '15', source: 'default' }));
    expect(byName.CRM_GMAIL_SA_KEY_PATH).toEqual(expect.objectContaining({ source: 'unset' }));
    const human = await runCli(['--env-file', envFile, 'config'], { env });
    expect(human.stdout).toMatch(new RegExp(`CRM_GMAIL_RETRY_MAX +3  \\(${envFile.replace(/[.*+?^${}()|[\]\\]/g, '\\$&')}:2\\)\n`));
    expect(human.stdout).toMatch(/CRM_GMAIL_CAPTURE +matched  \(environment\)\n/);
    expect(human.stdout).toMatch(/CRM_GMAIL_SYNC_INTERVAL_MIN +15  \(default\)\n/);
    expect(human.stdout).toMatch(/CRM_GMAIL_SA_KEY_PATH +\(unset\)\n/);
  });
});
