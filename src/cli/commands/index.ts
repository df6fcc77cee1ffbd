import type { Command } from 'commander';
import type { CliContext } from '../context.js';
import { registerMigrate } from './migrate.js';
import { registerUninstall } from './uninstall.js';
import { registerConfig } from './config.js';
import { registerDoctor } from './doctor.js';
import { registerThreads } from './threads.js';
import { registerInvestors } from './investors.js';
import { registerInvestor } from './investor.js';
import { registerSearch } from './search.js';
import { registerEnroll } from './enroll.js';
import { registerAccounts } from './accounts.js';
import { registerStatus } from './status.js';
import { registerSync } from './sync.js';
import { registerVerify } from './verify.js';
import { registerMessages } from './messages.js';
import { registerRematch } from './rematch.js';
import { registerPropose } from './propose.js';
import { registerReview } from './review.js';
import { registerParse } from './parse.js';
import { registerAuth } from './auth.js';
import { registerEmulator } from './emulator.js';

/** One line per command module; keep the order of `crm-mail --help`. */
export function registerCommands(program: Command, ctx: CliContext): void {
  registerMigrate(program, ctx);
  registerConfig(program, ctx);
  registerEnroll(program, ctx);
  registerAccounts(program, ctx);
  registerAuth(program, ctx);
  registerStatus(program, ctx);
  registerSync(program, ctx);
  registerRematch(program, ctx);
  registerMessages(program, ctx);
  registerVerify(program, ctx);
  registerPropose(program, ctx);
  registerReview(program, ctx);
  registerDoctor(program, ctx);
  registerThreads(program, ctx);
  registerInvestors(program, ctx);
  registerInvestor(program, ctx);
  registerSearch(program, ctx);
  registerParse(program, ctx);
  registerEmulator(program, ctx);
  registerUninstall(program, ctx);
}
