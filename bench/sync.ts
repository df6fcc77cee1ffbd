/**
 * Sync engine benchmark, on its own: the backfill of a generated firm (default the medium scenario:
 * 5 partners, 50 investors, 1,000 messages per mailbox) through the real CLI, with the emulator
 * metering one Gmail quota model, then an incremental run with no new mail. Reports per account the
 * wall time over the quota-bound ideal, units per stored copy and the peak window against the
 * budget. Loopback only. `npm run bench` is the full suite; this is the quick look.
 *
 *   npm run build && node dist/bench/sync.js [--scenario medium] [--model 2026|legacy] [--quota N] [--budget N] [--concurrency 5] [--profile DIR] [--json]
 *
 * --model: the quota model of both sides (default 2026). --quota: the emulator's per-user limit per
 * window of the model (default Gmail's: 6000/min or 250/s). --budget: crm-mail's per-account budget
 * per window (CRM_GMAIL_RATE_UNITS_MIN or _SEC; default crm-mail's own default: 5400/min or 150/s).
 * --rate N (the older spelling) is --model legacy --budget N.
 */
import { generateScenario, SCENARIOS, startEmulator } from '../src/emulator/index.js';
import { parseJson, runCrmMailOk } from './lib/crm-cli.js';
import { createFirm } from './lib/firm.js';
import { BENCH_MODELS, effectiveBudget, modelFacts, type QuotaModelName } from './lib/quota.js';
import { backfillOnce } from './sections/backfill.js';
import { round, sum } from './lib/stats.js';

function arg(name: string, fallback: string): string {
  const index = process.argv.indexOf(`--${name}`);
  return index >= 0 && process.argv[index + 1] ? process.argv[index + 1]! : fallback;
}

async function main(): Promise<void> {
  const name = arg('scenario', 'medium') as keyof typeof SCENARIOS;
  // --rate N: the older spelling (crm-mail's CRM_GMAIL_RATE_UNITS_SEC), meaning the legacy model at N units/s.
  const rate = arg('rate', '');
  const model = arg('model', rate ? 'legacy' : '2026') as QuotaModelName;
  if (!BENCH_MODELS.includes(model)) throw new Error(`--model must be one of ${BENCH_MODELS.join(', ')}`);
  const facts = modelFacts(model);
  const quota = Number(arg('quota', String(facts.gmailUserLimit)));
  const budgetArg = arg('budget', rate);
  const concurrency = arg('concurrency', '5');
  const scenario = generateScenario({ ...SCENARIOS[name] });
  const emu = await startEmulator({ scenario, quotaModel: model, quotaUnits: quota });
  const firm = await createFirm(emu, scenario, {
    quota: { model, budget: budgetArg ? Number(budgetArg) : undefined },
    settings: { CRM_GMAIL_ACCOUNT_CONCURRENCY: concurrency },
  });
  try {
    const budget = await effectiveBudget(firm.env, facts);
    // --profile DIR: a V8 CPU profile of the backfill process goes there (see bench/lib/crm-cli.ts).
    const profileDir = arg('profile', '');
    const backfill = profileDir
      ? await runCrmMailOk(['--json', 'sync', '--no-propose'], { env: firm.env, cpuProfileDir: profileDir }).then(() => undefined)
      : await backfillOnce(emu, scenario, firm, { facts, budget: budget.budget });
    emu.resetCounters();
    const noop = await runCrmMailOk(['--json', 'sync', '--no-propose'], { env: firm.env });
    const noopSummary = parseJson<{ accounts: Array<{ apiCalls: number; apiUnits: number }> }>(noop, 'crm-mail sync');
    const figures = {
      scenario: name,
      model,
      emulatorUserLimit: quota,
      budget: budget.budget,
      budgetSource: budget.source,
      accountConcurrency: Number(concurrency),
      backfill,
      incrementalNoop: {
        wallSeconds: round(noop.wallMs / 1000),
        calls: sum(noopSummary.accounts.map((a) => a.apiCalls)),
        units: sum(noopSummary.accounts.map((a) => a.apiUnits)),
        emulatorCalls: emu.counters().calls,
      },
    };
    if (process.argv.includes('--json')) {
      process.stdout.write(JSON.stringify(figures) + '\n');
      return;
    }
    process.stdout.write(`sync backfill (${name}: ${scenario.partners.length} mailboxes, ${model} model, emulator ${quota} units per ${facts.per} per user, crm-mail ${budget.source}, ${concurrency} at once)\n`);
    if (backfill) {
      process.stdout.write(`  whole process ${backfill.processWallSeconds}s\n`);
      for (const a of backfill.accounts) {
        process.stdout.write(
          `    ${a.account}: stored ${a.stored}, ${a.wallSeconds}s vs ideal ${a.idealSeconds}s = ${a.ratioToIdeal}x (floor ${a.spendFloorSeconds}s), ` +
            `${a.apiCalls} calls, ${a.units} units = ${a.unitsPerStoredCopy} per copy (crm-mail ${a.clientUnitsPerStoredCopy}), peak window ${a.peakWindowUnits} of ${budget.budget}, ${a.refusedQuota} refused\n`,
        );
      }
    } else {
      process.stdout.write(`  (profiled run: figures not collected; profile in ${profileDir})\n`);
    }
    process.stdout.write(`incremental with no new mail: ${figures.incrementalNoop.calls} calls, ${figures.incrementalNoop.units} units, whole process ${figures.incrementalNoop.wallSeconds}s\n`);
  } finally {
    firm.remove();
    await emu.stop();
  }
}

await main();
