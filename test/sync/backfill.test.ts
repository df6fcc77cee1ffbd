import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { SCENARIOS } from '../../src/emulator/index.js';
import { runCli } from '../helpers/cli.js';
import { tempDir } from '../helpers/tmp.js';
import { byInvestor, expectedCapture, plain, startFirm, storedCapture, type Firm } from './firm.js';

const dir = tempDir('crm-mail-backfill-');
let firm: Firm;

beforeAll(async () => {
  firm = await startFirm(dir, { scenario: { ...SCENARIOS.small } });
  const enrolled = await runCli(['enroll-all'], { env: firm.env });
  expect(enrolled.code, enrolled.stderr).toBe(0);
});
afterAll(async () => firm?.stop());

describe('backfill of a small firm', () => {
  it('stores exactly the investor mail of every mailbox', async () => {
    const result = await runCli(['sync', '--no-propose'], { env: firm.env });
    console.log(result.stdout, result.stderr);
    expect(result.code).toBe(0);
    const db = firm.open();
    const stored = storedCapture(db);
    db.close();
    const expected = expectedCapture(firm.scenario);
    expect(stored.duplicates).toBe(0);
    expect(plain(stored.byAccount)).toEqual(plain(expected));
    expect(byInvestor(stored.byAccount)).toEqual(byInvestor(expected));
  });
});
