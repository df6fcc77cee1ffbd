/**
 * Shared by the quota-model tests: a firm whose emulator meters quota, one sync through the real
 * CLI, and the checks every such run must pass (exact capture, nothing deferred, never over budget).
 */
import { expect } from 'vitest';
import type { EmulatorOptions, ScenarioOptions } from '../../src/emulator/index.js';
import { runCli } from '../helpers/cli.js';
import { expectedCapture, startFirm, type Firm } from './firm.js';
export { expectExactCapture } from './firm.js';

export interface SyncSummary {
  ok: boolean;
  accounts: Array<{ account: string; status: string; stored: number; deferred: number; apiUnits: number; error: string | null; details: Record<string, unknown> }>;
}

export async function meteredFirm(dir: string, name: string, scenario: ScenarioOptions, emulator: Omit<EmulatorOptions, 'scenario'>, env: Record<string, string> = {}): Promise<Firm> {
  const firm = await startFirm(dir, { scenario, emulator, env, name });
  const enrolled = await runCli(['enroll-all'], { env: firm.env });
  expect(enrolled.code, enrolled.stderr).toBe(0);
  return firm;
}

export async function syncOnce(firm: Firm, args: string[] = [], env: Record<string, string> = {}): Promise<{ code: number; summary: SyncSummary; stderr: string }> {
  const result = await runCli(['--json', 'sync', '--no-propose', ...args], { env: { ...firm.env, ...env }, timeoutMs: 900_000 });
  return { code: result.code, summary: JSON.parse(result.stdout) as SyncSummary, stderr: result.stderr };
}

/** Copies each account stores according to the scenario. */
export function expectedCopies(firm: Firm): Map<string, number> {
  return new Map([...expectedCapture(firm.scenario)].map(([account, box]) => [account, box.size]));
}
