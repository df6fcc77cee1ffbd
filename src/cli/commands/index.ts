import type { Command } from 'commander';
import type { CliContext } from '../context.js';
import { registerMigrate } from './migrate.js';
import { registerUninstall } from './uninstall.js';
import { registerConfig } from './config.js';
import { registerDoctor } from './doctor.js';
import { registerThreads } from './threads.js';

/** One line per command module; keep the order of `crm-mail --help`. */
export function registerCommands(program: Command, ctx: CliContext): void {
  registerMigrate(program, ctx);
  registerConfig(program, ctx);
  registerDoctor(program, ctx);
  registerThreads(program, ctx);
  registerUninstall(program, ctx);
}
