/** Who is running a command that records its author: CRM_MAIL_USER, else the operating-system user. */
import { userInfo } from 'node:os';
import type { Config } from '../config.js';

export function actorName(config: Pick<Config, 'reviewer'>, env: NodeJS.ProcessEnv = process.env): string {
  if (config.reviewer) return config.reviewer;
  try {
    return userInfo().username;
  } catch {
    // No passwd entry (some containers): the login name variables are the next best record.
    return env.USER ?? env.LOGNAME ?? 'unknown';
  }
}
