/**
 * The crm-mail program: global options, one module per command, and the single place where an
 * error becomes a message and an exit code. Command modules import their heavy dependencies
 * lazily inside their actions, so `--help` and `status` start fast.
 */
import { Command, CommanderError } from 'commander';
import { CrmMailError, EXIT } from '../errors.js';
import { CliContext, type GlobalOptions } from './context.js';
import { databaseFault } from '../db/faults.js';
import { packageVersion } from './version.js';
import { registerCommands } from './commands/index.js';
import { isLogStream, stampLines } from './output.js';

export function buildProgram(ctx: CliContext): Command {
  const program = new Command();
  program
    .name('crm-mail')
    .description("Capture the firm's Google Workspace mail into the CRM, link it to investors, and review drafted activity notes.")
    .version(packageVersion(), '-V, --version', 'print the version of crm-mail')
    .option('--db <path>', 'CRM SQLite file (default: $CRM_DB_PATH, else ./data/crm.db)')
    .option('--env-file <path>', 'load KEY=VALUE settings from this file before reading the configuration')
    .option('--json', 'machine-readable output (one JSON document on stdout)')
    .option('-q, --quiet', 'print errors only')
    .option('-v, --verbose', 'print details on stderr')
    .showHelpAfterError('(run with --help for usage)')
    // Commander's own parse errors are log lines too (dated off a terminal); help is not a log.
    .configureOutput({ writeErr: (text) => process.stderr.write(isLogStream(process.stderr) ? stampLines(text) : text) })
    .addHelpText(
      'after',
      `
Examples:
  $ crm-mail migrate --db ./data/crm.db
  $ crm-mail --env-file .env.prod sync
  $ crm-mail review --as jane@firm.com

Exit codes: 0 ok, 1 failure, 2 usage or configuration, 3 Gmail integration off, 4 auth,
5 rate limit or Gmail unavailable, 7 not found, 8 conflict (already decided), 9 permanent error,
10 the CRM held its database write lock too long, 11 sync lost its lease, 130 review interrupted. sync and verify exit with their most severe account outcome (README).
Off a terminal (cron, a pipe, a file) every line starts with the UTC time, e.g.
2026-12-03T07:15:04.118Z; --json documents never do (README, "Log format").`,
    );
  program.hook('preAction', (_root, action) => {
    ctx.init(action.optsWithGlobals() as GlobalOptions);
  });
  registerCommands(program, ctx);
  return program;
}

/** Runs the CLI and returns the exit code (the bin sets process.exitCode from it). */
export async function main(argv: string[], ctx: CliContext = new CliContext()): Promise<number> {
  const program = buildProgram(ctx);
  program.exitOverride();
  for (const command of program.commands) exitOverrideDeep(command);
  try {
    if (!namesACommand(argv.slice(2))) {
      // Without a command, help is what was asked for: on stdout, exit 0 (commander's default is stderr and 1).
      program.outputHelp();
      return EXIT.ok;
    }
    await program.parseAsync(argv);
    return ctx.exitCode;
  } catch (error) {
    return reportError(error, ctx, wantsJson(argv.slice(2)));
  } finally {
    ctx.close();
  }
}

/** Global options that take a value; everything else starting with `-` is a flag. */
const VALUE_OPTIONS = new Set(['--db', '--env-file']);

/** Whether the arguments hold a command word (or a flag commander handles itself, such as --help). */
function namesACommand(args: string[]): boolean {
  for (let index = 0; index < args.length; index += 1) {
    const arg = args[index]!;
    if (VALUE_OPTIONS.has(arg)) {
      index += 1;
      continue;
    }
    if (arg.startsWith('--db=') || arg.startsWith('--env-file=')) continue;
    if (['--json', '--quiet', '-q', '--verbose', '-v'].includes(arg)) continue;
    return true;
  }
  return false;
}

/**
 * Whether --json was given, read from the arguments themselves: an error commander finds while
 * parsing (unknown command or option, missing argument) comes before the options are known.
 */
function wantsJson(args: string[]): boolean {
  const end = args.indexOf('--');
  return (end === -1 ? args : args.slice(0, end)).includes('--json');
}

function exitOverrideDeep(command: Command): void {
  command.exitOverride();
  for (const child of command.commands) exitOverrideDeep(child);
}

function reportError(error: unknown, ctx: CliContext, json: boolean): number {
  if (error instanceof CommanderError) {
    if (error.code === 'commander.helpDisplayed' || error.code === 'commander.version' || error.code === 'commander.help') return EXIT.ok;
    if (error.exitCode === 0) return EXIT.ok;
    // commander has said it on stderr already; a --json caller still gets its one document.
    if (json) process.stdout.write(JSON.stringify({ error: { kind: 'usage', message: error.message.replace(/^error: /, '') } }) + '\n');
    return EXIT.usage;
  }
  if (!(error instanceof CrmMailError)) error = databaseFault(error, ctx.dbPathForErrors()) ?? error;
  if (error instanceof CrmMailError) {
    // A command that already wrote its document (e.g. what `accounts remove` would delete) keeps stdout to that one.
    if ((ctx.out.json || json) && !ctx.out.wroteDocument) process.stdout.write(JSON.stringify({ error: { kind: error.kind, message: error.message } }) + '\n');
    ctx.out.stderrWrite(`crm-mail: ${error.message}\n`);
    return error.exitCode;
  }
  const message = error instanceof Error ? error.message : String(error);
  if ((ctx.out.json || json) && !ctx.out.wroteDocument) process.stdout.write(JSON.stringify({ error: { kind: 'unexpected', message } }) + '\n');
  ctx.out.stderrWrite(`crm-mail: unexpected error: ${message}\n`);
  if (ctx.out.verbose && error instanceof Error && error.stack) ctx.out.stderrWrite(error.stack + '\n');
  return EXIT.failure;
}
