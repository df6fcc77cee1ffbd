/**
 * `npm run demo`: a generated firm in the Gmail emulator, a fresh demo CRM, and the real crm-mail
 * commands run in order as an admin would, ending with the commands to continue. No network but
 * loopback; re-running starts clean (the demo folder is deleted first).
 *
 * Usage: node dist/src/demo/run-demo.js [--dir DIR]   (default: <package>/demo)
 */
import { accessSync, constants, existsSync, mkdirSync, rmSync, statSync, writeFileSync } from 'node:fs';
import { delimiter, dirname, isAbsolute, join, resolve } from 'node:path';
import { fileURLToPath, pathToFileURL } from 'node:url';
import { main } from '../cli/main.js';
import { CliContext } from '../cli/context.js';
import { openDatabase } from '../db/open.js';
import { ACTIVITY_SINCE_KEY, getSetting } from '../db/settings.js';
import { threadOfMessage } from '../db/threadsView.js';
import { crmMailSettings, generateScenario, SCENARIOS, startEmulator, type Emulator } from '../emulator/index.js';
import { validateModelFile } from '../activity/modelFile.js';
import { freshInvestorMail } from './freshMail.js';
import { seedDemoCrm } from './seedCrm.js';
import { shellQuote } from '../doctor/databaseChecks.js';

export interface DemoOptions {
  dir: string;
  /** Where the demo speaks; the commands it runs write to the process's stdout themselves. */
  write?: (text: string) => void;
  /** Environment the demo reads CRM_MAIL_MODEL / CRM_MAIL_MODEL_THREADS from. */
  env?: NodeJS.ProcessEnv;
}

export interface DemoResult {
  exitCode: number;
  dbPath: string;
  envFile: string;
  partners: string[];
  /** Message-IDs of the mail delivered after the backfill that should be proposed. */
  proposable: string[];
}

class DemoStepFailed extends Error {}

function packageRoot(): string {
  let dir = dirname(fileURLToPath(import.meta.url));
  while (!existsSync(join(dir, 'package.json'))) {
    const parent = dirname(dir);
    if (parent === dir) throw new Error('cannot find the crm-mail package root');
    dir = parent;
  }
  return dir;
}

/**
 * How to run crm-mail from any folder: its bare name when a `crm-mail` is on PATH (installed with
 * npm install -g or npm link), else the absolute path of this package's bin.
 */
export function crmMailCommand(pathVariable: string | undefined, bin: string = join(packageRoot(), 'bin', 'crm-mail')): string {
  for (const dir of (pathVariable ?? '').split(delimiter)) {
    if (dir === '' || !isAbsolute(dir)) continue;
    const candidate = join(dir, 'crm-mail');
    try {
      accessSync(candidate, constants.X_OK);
      if (statSync(candidate).isFile()) return 'crm-mail';
    } catch {
      // not in this folder
    }
  }
  return shellQuote(bin);
}

function demoEnv(dir: string, emulator: Emulator, source: NodeJS.ProcessEnv, model: string | undefined): Record<string, string> {
  const env: Record<string, string> = {
    CRM_DB_PATH: join(dir, 'crm.db'),
    ...crmMailSettings(emulator),
    CRM_GMAIL_AUTH_METHOD: 'dwd',
    CRM_GMAIL_ATTACHMENTS_DIR: join(dir, 'attachments'),
  };
  if (model) {
    env.CRM_MAIL_MODEL = model;
    env.CRM_MAIL_DRAFTER = 'llama';
    if (source.CRM_MAIL_MODEL_THREADS?.trim()) env.CRM_MAIL_MODEL_THREADS = source.CRM_MAIL_MODEL_THREADS.trim();
  } else {
    env.CRM_MAIL_DRAFTER = 'rule';
  }
  return env;
}

/** The model file when CRM_MAIL_MODEL names a usable one; otherwise the demo says why and uses the rule drafter. */
async function usableModel(value: string | undefined): Promise<{ path?: string; problem?: string }> {
  const path = value?.trim();
  if (!path) return {};
  try {
    await validateModelFile(resolve(path));
    return { path: resolve(path) };
  } catch (error) {
    return { problem: `CRM_MAIL_MODEL is set but not usable (${(error as Error).message.split('. ')[0]}): drafting with the rule drafter instead.` };
  }
}

function envFileText(env: Record<string, string>): string {
  const lines = [
    '# Written by `npm run demo`. The Gmail emulator these URLs point at stopped when the demo ended:',
    '# review, threads, thread, status and doctor work on the database alone; sync needs the emulator.',
    ...Object.entries(env).map(([key, value]) => `${key}=${value}`),
  ];
  return lines.join('\n') + '\n';
}

export async function runDemo(options: DemoOptions): Promise<DemoResult> {
  const say = options.write ?? ((text: string) => void process.stdout.write(text));
  const line = (text = ''): void => say(text + '\n');
  const started = Date.now();
  const dir = resolve(options.dir);
  rmSync(dir, { recursive: true, force: true });
  mkdirSync(dir, { recursive: true });

  const source = options.env ?? process.env;
  const model = await usableModel(source.CRM_MAIL_MODEL);
  const scenario = generateScenario(SCENARIOS.small);
  const emulator = await startEmulator({ scenario, keyDir: dir });
  const env = demoEnv(dir, emulator, source, model.path);
  const dbPath = env.CRM_DB_PATH!;
  const envFile = join(dir, '.env.demo');
  writeFileSync(envFile, envFileText(env), { mode: 0o600 });
  // Absolute paths: the commands printed here work from any folder.
  const db = shellQuote(dbPath);
  const cli = crmMailCommand(source.PATH);
  const partners = scenario.partners.map((partner) => partner.email);
  const proposable: string[] = [];

  // Each step is the real CLI, in this process, with the demo's settings and nothing of the caller's.
  const run = async (args: string[], allowed: number[] = [0]): Promise<number> => {
    line(`\n$ ${cli} --db ${db} ${args.join(' ')}`);
    const code = await main(['node', 'crm-mail', '--db', dbPath, ...args], new CliContext({ ...env }));
    if (!allowed.includes(code)) throw new DemoStepFailed(`\`crm-mail ${args.join(' ')}\` exited with ${code}`);
    return code;
  };

  try {
    line(`crm-mail demo: ${scenario.firmName} (${scenario.domain}), ${scenario.partners.length} partners, ${scenario.investors.length} investors`);
    line(`Gmail emulator on ${emulator.rootUrl} with ${partners.length} mailboxes: ${partners.join(', ')}`);
    if (env.CRM_MAIL_MODEL) line(`Drafting notes with the local model ${env.CRM_MAIL_MODEL} (CRM_MAIL_MODEL).`);
    else if (model.problem) line(model.problem);
    else line('Drafting notes with the rule drafter: CRM_MAIL_MODEL is not set (point it at a GGUF file to use a local model).');

    await run(['migrate']);
    const crm = openDatabase(dbPath, { mustExist: true });
    try {
      const seeded = seedDemoCrm(crm, scenario);
      line(
        `Seeded the CRM: ${seeded.users} users (${seeded.partners} partners, 1 inactive, 1 outside the domain), ` +
          `${seeded.investors} investors with their email cells as typed, fundraising notes for ${seeded.notes}.`,
      );
    } finally {
      crm.close();
    }

    await run(['enroll-all']);
    line('\nFirst sync: the backfill of every mailbox (investor mail only). The cutoff is set now, so none of it is proposed.');
    await run(['sync']);

    const now = emulator.now() + 1000;
    line(`\nNew mail arrives in the emulator (dated ${new Date(now).toISOString()}):`);
    const deliveries = freshInvestorMail(scenario, now);
    const crossing = deliveries.find((delivery) => delivery.copies.length > 1 && delivery.hasAttachment) ?? deliveries.find((delivery) => delivery.copies.length > 1);
    for (const delivery of deliveries) {
      for (const copy of delivery.copies) emulator.addMessage(copy.mailbox, delivery.raw, { labelIds: copy.labelIds, internalDate: now });
      if (delivery.proposable) proposable.push(delivery.messageId);
      line(`  ${delivery.summary}`);
    }

    line('\nSecond sync: incremental, through Gmail history; the new investor mail is proposed after syncing.');
    await run(['sync']);
    await run(['propose']);

    let crossingThread: number | undefined;
    const check = openDatabase(dbPath, { readonly: true, mustExist: true });
    try {
      const cutoff = getSetting(check, ACTIVITY_SINCE_KEY);
      if (cutoff) line(`\nCutoff (app_settings.${ACTIVITY_SINCE_KEY}): ${cutoff}. Mail dated before it is never proposed.`);
      crossingThread = crossing ? threadOfMessage(check, crossing.messageId) : undefined;
    } finally {
      check.close();
    }

    line('\nThe picture. Every mailbox:');
    await run(['status']);
    line('\nInvestors with captured conversations:');
    await run(['threads', '--by-investor']);
    line('\nThe most recent conversations:');
    await run(['threads', '--limit', '8']);
    line('\nNotes waiting for a partner:');
    await run(['review', 'list']);

    const [first] = scenario.partners;
    const envShown = shellQuote(envFile);
    const next: Array<[string, string]> = [
      [`${cli} review --db ${db} --as ${first!.email}`, 'approve, edit or dismiss the notes'],
      [`${cli} threads --db ${db} --investor "${scenario.investors[0]!.name}"`, "one investor's conversations"],
    ];
    if (crossingThread !== undefined) next.push([`${cli} --env-file ${envShown} thread ${crossingThread}`, "one message in two partners' mailboxes, attachment included"]);
    next.push([`${cli} --env-file ${envShown} doctor`, 'a health check of these settings']);
    // Commands and their comments on separate lines: absolute paths are long, and a command is copied whole.
    line('\nContinue with the same database (from any folder):');
    for (const [command, comment] of next) line(`  # ${comment}\n  ${command}`);
    if (cli !== 'crm-mail') line(`(crm-mail is not on PATH; to install it: npm pack, then npm install -g ./crm-mail-<version>.tgz, or npm link; see the README)`);
    line(`Demo finished in ${((Date.now() - started) / 1000).toFixed(1)} s; everything it made is in ${dir}/.`);
    return { exitCode: 0, dbPath, envFile, partners, proposable };
  } catch (error) {
    if (!(error instanceof DemoStepFailed)) throw error;
    line(`\nThe demo stopped: ${error.message}. Its files are in ${dir}/ for a look.`);
    return { exitCode: 1, dbPath, envFile, partners, proposable };
  } finally {
    await emulator.stop();
  }
}

function parseArgs(argv: string[]): { dir: string } {
  let dir = join(packageRoot(), 'demo');
  for (let index = 0; index < argv.length; index++) {
    if (argv[index] === '--dir' && argv[index + 1]) dir = resolve(argv[++index]!);
    else if (argv[index] === '--help' || argv[index] === '-h') {
      process.stdout.write('Usage: npm run demo  (or node dist/src/demo/run-demo.js [--dir DIR]; default DIR is the package\'s demo/ folder, deleted first)\n');
      process.exit(0);
    } else throw new Error(`unknown argument ${argv[index]}`);
  }
  return { dir };
}

if (process.argv[1] && import.meta.url === pathToFileURL(resolve(process.argv[1])).href) {
  try {
    const result = await runDemo(parseArgs(process.argv.slice(2)));
    process.exitCode = result.exitCode;
  } catch (error) {
    process.stderr.write(`demo failed: ${error instanceof Error ? (error.stack ?? error.message) : String(error)}\n`);
    process.exitCode = 1;
  }
}
