import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { SCENARIOS } from '../../src/emulator/index.js';
import { runCli } from '../helpers/cli.js';
import { tempDir } from '../helpers/tmp.js';
import { startFirm, type Firm } from './firm.js';

const dir = tempDir('crm-mail-concurrency-');
let firm: Firm;

beforeAll(async () => {
  // A little latency per call keeps the first sync busy while the second one starts.
  firm = await startFirm(dir, { scenario: { ...SCENARIOS.small, seed: 5, partners: 2 }, emulator: { latencyMs: 5 } });
  expect((await runCli(['enroll-all'], { env: firm.env })).code).toBe(0);
});
afterAll(async () => firm?.stop());

describe('one sync at a time', () => {
  it('runs one of two syncs started at once; the other exits 0 with a clear line', async () => {
    const [a, b] = await Promise.all([runCli(['sync', '--no-propose'], { env: firm.env }), runCli(['sync', '--no-propose'], { env: firm.env })]);
    expect(a.code, a.stderr).toBe(0);
    expect(b.code, b.stderr).toBe(0);
    const refused = [a, b].filter((result) => result.stdout.includes('another crm-mail sync is running'));
    const ran = [a, b].filter((result) => / ok backfill: /.test(result.stdout));
    expect(refused).toHaveLength(1);
    expect(ran).toHaveLength(1);
    expect(refused[0]!.stdout).toMatch(/another crm-mail sync is running \(pid \d+ on .+ since .+; lease until .+\): this sync exits without doing anything\./);
    const db = firm.open();
    const runs = db.prepare('SELECT count(*) AS n FROM email_sync_runs').get() as { n: number };
    const lease = db.prepare('SELECT count(*) AS n FROM email_sync_lease').get() as { n: number };
    db.close();
    expect(runs.n).toBe(2);
    expect(lease.n).toBe(0);
  });

  it('reports the held lease as JSON too', async () => {
    const db = firm.open();
    db.prepare("INSERT INTO email_sync_lease (name, holder_pid, holder_host, acquired_at, expires_at) VALUES ('sync', 1, 'elsewhere', ?, ?)").run(
      new Date().toISOString(),
      new Date(Date.now() + 60_000).toISOString(),
    );
    db.close();
    const result = await runCli(['--json', 'sync'], { env: firm.env });
    expect(result.code).toBe(0);
    expect(JSON.parse(result.stdout)).toMatchObject({ ran: false, reason: 'lease_held', holder: { pid: 1, host: 'elsewhere' } });
  });
});
