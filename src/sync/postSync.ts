/**
 * The post-sync hook: after a successful sync, draft activity notes for new investor mail. A firm
 * without a drafter configured still syncs; the hook then says in one line why it was skipped.
 */
import type { Config } from '../config.js';
import type { Db } from '../db/open.js';
import { ConfigError } from '../errors.js';

export interface ProposeOutcome {
  status: 'ok' | 'skipped' | 'error';
  line: string;
  result?: Record<string, unknown>;
}

export async function proposeAfterSync(db: Db, config: Config, log: (line: string) => void): Promise<ProposeOutcome> {
  const { resolveDrafterKind, runPropose } = await import('../activity/propose.js');
  try {
    resolveDrafterKind(config);
  } catch (error) {
    if (error instanceof ConfigError) {
      return {
        status: 'skipped',
        line: 'propose: skipped, no drafter configured (set CRM_MAIL_MODEL to a GGUF model, or CRM_MAIL_DRAFTER=rule); mail is captured all the same',
      };
    }
    throw error;
  }
  try {
    const result = await runPropose(db, config, {}, log);
    const more = result.remaining > 0 ? `, ${result.remaining} left for the next run` : '';
    const failed = result.failed > 0 ? `, ${result.failed} failed (retried next run)` : '';
    return {
      status: result.failed > 0 && result.proposed === 0 ? 'error' : 'ok',
      line: `propose: ${result.proposed} notes proposed with the ${result.drafter} drafter${failed}${more}; review with crm-mail review`,
      result: { ...result },
    };
  } catch (error) {
    const message = error instanceof Error ? error.message : String(error);
    return { status: 'error', line: `propose: failed: ${message.replace(/[\r\n]+/g, ' ')}` };
  }
}
