/** How a purge's figures read, for exclude add, accounts share and purge alike. */
import type { PurgeReport } from '../privacy/purge.js';

function count(n: number, one: string, many = `${one}s`): string {
  return `${n} ${n === 1 ? one : many}`;
}

/** One line: what was (or would be) removed; '' parts are left out. */
export function purgeLine(report: PurgeReport, kind: 'delete' | 'strip', dryRun: boolean): string {
  if (report.copies === 0) return dryRun ? 'nothing stored would be removed' : 'nothing stored had to be removed';
  const verb = dryRun ? 'would remove' : 'removed';
  const parts =
    kind === 'delete'
      ? [
          `${count(report.copies, 'stored copy', 'stored copies')} of ${count(report.messages, 'message')}`,
          count(report.participants, 'participant row'),
          count(report.matches, 'investor link'),
          count(report.attachments, 'attachment row'),
          count(report.files, 'attachment file'),
          count(report.threadsRemoved, 'emptied thread'),
        ]
      : [
          `content of ${count(report.copies, 'stored copy', 'stored copies')} (${count(report.messages, 'message')})`,
          count(report.bodies, 'body', 'bodies'),
          ...(report.subjects > 0 ? [count(report.subjects, 'subject')] : []),
          count(report.attachments, 'attachment row'),
          count(report.files, 'attachment file'),
        ];
  const proposals = `${count(report.proposalsWithdrawn, 'pending proposal')} ${dryRun ? 'would be ' : ''}withdrawn`;
  const notes = `${count(report.approvedNotesKept, 'approved note')} already in the CRM ${report.approvedNotesKept === 1 ? 'stays' : 'stay'}`;
  return `${verb} ${parts.join(', ')}; ${proposals}; ${notes}`;
}

/** The fault-injection point of the crash tests: the process dies between the commit and the file removal. */
export function crashHook(env: NodeJS.ProcessEnv): (() => void) | undefined {
  if (env.CRM_MAIL_TEST_KILL_AFTER_PURGE_COMMIT !== '1') return undefined;
  return () => {
    process.kill(process.pid, 'SIGKILL');
  };
}
