import type { Command } from 'commander';
import type { CliContext } from '../context.js';
import { writeFileSync } from 'node:fs';
import { UsageError } from '../../errors.js';

const EXAMPLES = `
Examples:
  $ crm-mail emulator --scenario small
  $ crm-mail emulator --scenario large --seed 3 --quota 0 --port 8025
  $ crm-mail emulator --scenario small --quota-model legacy            # an older project: 250 units/s
  $ crm-mail emulator --scenario small --quota 600 --concurrency 5    # a tight minute, Gmail-like batches
  $ crm-mail emulator --mailbox ann@northwind.vc=./mail/ann --mailbox bob@northwind.vc=./mail/bob
  $ crm-mail --json emulator --scenario medium --faults 0.1 --history-retention 1

Serves a local Gmail API on 127.0.0.1 for tests, the demo and staging rehearsals. Point crm-mail at
it with CRM_GMAIL_API_ROOT=<root URL>, CRM_GMAIL_TOKEN_URL=<token URL> and
CRM_GMAIL_SA_KEY_PATH=<key file>.

Quota is metered like Gmail's. The 2026 model (the default; Cloud projects new since 2026-05-01)
allows 6000 units per user per rolling minute, messages.get costs 20, threads.get 40; the legacy
model (older projects) allows 250 units per user per second, messages.get 5. Both share a
project limit of 1,200,000 units per minute. With --concurrency, the parts of a batch count
against the cap at once, as at Gmail.

With --json it prints one line {"rootUrl","tokenUrl","domain","users","serviceAccountKeyFile",
"quotaModel"} once it is ready. Runs until Ctrl+C (SIGINT) or SIGTERM; the key file it created is
removed on exit.`;

interface EmulatorCliOptions {
  port: string;
  mailbox: string[];
  scenario?: string;
  seed?: string;
  domain?: string;
  quotaModel: string;
  quota?: string;
  projectQuota: string;
  faults: string;
  historyRetention: string;
  concurrency: string;
  keyDir?: string;
  writeScenario?: string;
}

function number(name: string, value: string, min: number, max: number, integer = true): number {
  const n = Number(value);
  if (value.trim() === '' || !Number.isFinite(n) || n < min || n > max || (integer && !Number.isInteger(n))) {
    throw new UsageError(`${name} ${JSON.stringify(value)} is not valid: expected ${integer ? 'a whole number' : 'a number'} from ${min} to ${max}.`);
  }
  return n;
}

/** E.g. "2026 model, 6000 units/min per user, messages.get 20 units; project 1200000 units/min". */
function describeQuota(quota: { model: string; windowMs: number; userUnitsPerWindow: number; projectUnitsPerMinute: number; units: Readonly<Record<string, number>> }): string {
  const per = quota.windowMs === 60_000 ? 'min' : quota.windowMs === 1000 ? 's' : `${quota.windowMs} ms`;
  const user = quota.userUnitsPerWindow === 0 ? 'no per-user limit' : `${quota.userUnitsPerWindow} units/${per} per user`;
  const project = quota.projectUnitsPerMinute === 0 ? 'no project limit' : `project ${quota.projectUnitsPerMinute} units/min`;
  return `${quota.model} model, ${user}, messages.get ${quota.units['messages.get']} units; ${project}`;
}

export function registerEmulator(program: Command, ctx: CliContext): void {
  program
    .command('emulator')
    .description('run a local Gmail API emulator (mailboxes from .eml folders or a generated firm) until stopped')
    .option('--port <port>', 'port on 127.0.0.1 (0: any free port)', '0')
    .option('--mailbox <email=dir>', 'a mailbox from a folder of .eml files (repeatable)', (value: string, list: string[]) => [...list, value], [] as string[])
    .option('--scenario <name>', 'generated firm: small, medium or large')
    .option('--seed <n>', 'scenario seed (default: the preset\'s)')
    .option('--domain <domain>', 'workspace domain (default northwind.vc)')
    .option('--quota-model <model>', 'how Gmail meters the project: 2026 (per minute) or legacy (per second)', '2026')
    .option('--quota <units>', 'per-user units per window of the model (default 6000 per minute, legacy 250 per second; 0: no limit)')
    .option('--project-quota <units>', 'units per minute for all users together (0: no limit)', '1200000')
    .option('--faults <rate>', 'fraction of calls that get a random retryable fault (0..1)', '0')
    .option('--history-retention <days>', 'days of history kept; older start ids answer 404', '7')
    .option('--concurrency <n>', 'per-user concurrent request cap (0: none)', '0')
    .option('--key-dir <dir>', 'folder for the service-account key file (default: a temporary folder)')
    .option('--write-scenario <file>', 'also write the scenario (partners, investors, truth) as JSON to this file')
    .addHelpText('after', EXAMPLES)
    .action(async (options: EmulatorCliOptions) => {
      const port = number('--port', options.port, 0, 65535);
      if (options.quotaModel !== '2026' && options.quotaModel !== 'legacy') throw new UsageError(`--quota-model ${JSON.stringify(options.quotaModel)} is not valid: expected 2026 or legacy.`);
      const quotaModel = options.quotaModel;
      const quotaUnits = options.quota === undefined ? undefined : number('--quota', options.quota, 0, 1_000_000_000);
      const projectUnitsPerMinute = number('--project-quota', options.projectQuota, 0, 1_000_000_000);
      const faultRate = number('--faults', options.faults, 0, 1, false);
      const retention = number('--history-retention', options.historyRetention, 0, 3650, false);
      const concurrency = number('--concurrency', options.concurrency, 0, 10_000);
      if (options.mailbox.length > 0 && options.scenario) throw new UsageError('use either --mailbox or --scenario, not both.');
      if (options.mailbox.length === 0 && !options.scenario) throw new UsageError('say what to serve: --scenario small|medium|large, or one or more --mailbox EMAIL=DIR.');
      if (options.writeScenario && !options.scenario) throw new UsageError('--write-scenario needs --scenario.');

      const { startEmulator, generateScenario, SCENARIOS } = await import('../../emulator/index.js');
      const { loadEmlFolder } = await import('../../emulator/eml-folder.js');
      let scenario;
      const mailboxes: Record<string, Array<{ raw: Buffer; labelIds: string[]; internalDate: number }>> = {};
      if (options.scenario) {
        const preset = SCENARIOS[options.scenario as keyof typeof SCENARIOS];
        if (!preset) throw new UsageError(`--scenario ${JSON.stringify(options.scenario)} is not valid: expected small, medium or large.`);
        const seed = options.seed === undefined ? preset.seed : number('--seed', options.seed, 0, 2 ** 32 - 1);
        scenario = generateScenario({ ...preset, seed, domain: options.domain });
      } else {
        for (const spec of options.mailbox) {
          const eq = spec.indexOf('=');
          const email = eq > 0 ? spec.slice(0, eq).trim().toLowerCase() : '';
          const dir = eq > 0 ? spec.slice(eq + 1) : '';
          if (!/^[^@\s]+@[^@\s]+$/.test(email) || !dir) throw new UsageError(`--mailbox ${JSON.stringify(spec)} is not valid: expected EMAIL=DIR.`);
          if (mailboxes[email]) throw new UsageError(`--mailbox ${email} is given twice.`);
          try {
            mailboxes[email] = loadEmlFolder(dir);
          } catch (error) {
            throw new UsageError(`--mailbox ${email}: ${(error as Error).message}`);
          }
          if (mailboxes[email].length === 0) ctx.out.warn(`${dir} holds no .eml files; ${email} starts empty`);
        }
      }
      const domain = options.domain ?? (options.mailbox.length > 0 ? Object.keys(mailboxes)[0]?.split('@')[1] : undefined);
      let emu;
      try {
        emu = await startEmulator({
          port,
          domain,
          scenario,
          mailboxes,
          quotaModel,
          quotaUnits,
          projectUnitsPerMinute,
          faultRate,
          historyRetentionDays: retention,
          maxConcurrentPerUser: concurrency,
          keyDir: options.keyDir,
        });
      } catch (error) {
        const code = (error as NodeJS.ErrnoException).code;
        if (code === 'EADDRINUSE' || code === 'EACCES') throw new UsageError(`--port ${port}: cannot listen on 127.0.0.1:${port} (${code === 'EADDRINUSE' ? 'already in use' : 'not allowed'}); choose another port or 0.`);
        throw error;
      }
      if (options.writeScenario && scenario) {
        writeFileSync(options.writeScenario, JSON.stringify({ domain: scenario.domain, partners: scenario.partners, investors: scenario.investors, truth: scenario.truth }) + '\n');
      }
      // Listening for the stop signal before anything says "ready": a caller that stops the emulator
      // the moment it reads the banner must find the handler in place.
      const stopSignal = new Promise<NodeJS.Signals>((resolve) => {
        process.once('SIGINT', () => resolve('SIGINT'));
        process.once('SIGTERM', () => resolve('SIGTERM'));
      });
      const ready = { rootUrl: emu.rootUrl, tokenUrl: emu.tokenUrl, domain: emu.domain, users: emu.users, serviceAccountKeyFile: emu.serviceAccountKeyFile, quotaModel: emu.quotaModel };
      if (ctx.out.json) process.stdout.write(JSON.stringify(ready) + '\n');
      else {
        ctx.out.line(`Gmail emulator listening`);
        ctx.out.line(`  root URL:     ${ready.rootUrl}`);
        ctx.out.line(`  token URL:    ${ready.tokenUrl}`);
        ctx.out.line(`  domain:       ${ready.domain}`);
        ctx.out.line(`  users:        ${ready.users.join(', ')}`);
        ctx.out.line(`  SA key file:  ${ready.serviceAccountKeyFile}`);
        ctx.out.line(`  quota:        ${describeQuota(emu.quota)}`);
        ctx.out.line(`  concurrency:  ${concurrency === 0 ? 'no cap' : `${concurrency} per user (batch parts count one each)`}; faults: ${faultRate}; history kept ${retention} days`);
        ctx.out.line('Press Ctrl+C to stop.');
      }
      const signal = await stopSignal;
      ctx.out.info(`${signal}: stopping the emulator`);
      await emu.stop();
    });
}
