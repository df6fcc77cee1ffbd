/**
 * Is `crm-mail sync` scheduled? Reads `crontab -l` of the user running the doctor. The line itself
 * is never printed (it may carry settings); only its schedule is.
 */
import { spawnSync } from 'node:child_process';
import { ok, warn, type CheckResult } from './result.js';

export type CrontabReading = { available: false } | { available: true; text: string };

/** `crontab -l`: unavailable when the command is missing; empty when the user has no crontab. */
export function readCrontab(): CrontabReading {
  const result = spawnSync('crontab', ['-l'], { encoding: 'utf8', timeout: 5000 });
  if (result.error) return { available: false };
  // crontab exits 1 with "no crontab for <user>" when there is none: that is an empty crontab.
  return { available: true, text: result.status === 0 ? result.stdout : '' };
}

/** The schedule fields of the first active line that runs `crm-mail ... sync`, if any. */
export function findSyncLine(text: string): { lineNumber: number; schedule: string } | undefined {
  const lines = text.split(/\r?\n/);
  for (const [index, line] of lines.entries()) {
    const trimmed = line.trim();
    if (trimmed === '' || trimmed.startsWith('#')) continue;
    if (!/crm-mail/.test(trimmed) || !/\bsync\b/.test(trimmed)) continue;
    const fields = trimmed.split(/\s+/);
    const schedule = fields[0]!.startsWith('@') ? fields[0]! : fields.slice(0, 5).join(' ');
    return { lineNumber: index + 1, schedule };
  }
  return undefined;
}

export function checkCron(reading: CrontabReading, syncIntervalMin: number): CheckResult {
  const example = `*/${syncIntervalMin} * * * * cd /srv/crm && crm-mail --env-file .env sync >> logs/crm-mail.log 2>&1`;
  if (!reading.available) {
    return warn(
      'cron',
      'crontab is not available on this machine, so the schedule cannot be checked',
      `schedule \`crm-mail sync\` every ${syncIntervalMin} minutes with this machine's scheduler (see crontab.example)`,
    );
  }
  const found = findSyncLine(reading.text);
  if (!found) {
    return warn('cron', 'no `crm-mail sync` line in `crontab -l`', `crontab -e and add the line from crontab.example, e.g. ${example}`);
  }
  const every = minutesBetweenRuns(found.schedule);
  if (every !== undefined && every > syncIntervalMin) {
    return warn(
      'cron',
      `crm-mail sync runs every ${every} minutes (crontab line ${found.lineNumber}) but CRM_GMAIL_SYNC_INTERVAL_MIN is ${syncIntervalMin}: status will report accounts as late`,
      `make them agree: */${syncIntervalMin} in the crontab, or CRM_GMAIL_SYNC_INTERVAL_MIN=${every}`,
    );
  }
  return ok('cron', `crm-mail sync scheduled (crontab line ${found.lineNumber}: ${found.schedule})`);
}

// Minutes between runs for the simple schedules (every N minutes, every minute, a list of minutes,
// @hourly); undefined for anything more particular (hours or days restricted).
export function minutesBetweenRuns(schedule: string): number | undefined {
  if (schedule === '@hourly') return 60;
  const [minute, hour, ...rest] = schedule.split(' ');
  if (hour !== '*' || rest.some((field) => field !== '*')) return undefined;
  if (minute === '*') return 1;
  const step = minute?.match(/^(?:\*|0)\/(\d{1,2})$/);
  if (step) return Number(step[1]);
  if (minute !== undefined && /^\d{1,2}(,\d{1,2})*$/.test(minute)) {
    const marks = minute.split(',').map(Number).sort((a, b) => a - b);
    const gaps = marks.map((mark, index) => (index + 1 < marks.length ? marks[index + 1]! - mark : 60 - mark + marks[0]!));
    return Math.max(...gaps);
  }
  return undefined;
}
