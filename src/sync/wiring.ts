/**
 * Fills the engine's seams with the real modules: the Gmail access layer, the parser, the investor
 * index, capture, the emails table and the attachment worker. Imported lazily by the commands that
 * talk to Gmail, so `crm-mail --help` and `status` never load the Gmail client.
 */
import type { Config } from '../config.js';
import type { Db } from '../db/open.js';
import type { Account } from '../db/accounts.js';
import { activeGmailIdsSince } from '../db/accounts.js';
import { pidIsAlive } from '../db/lease.js';
import { listExclusions, listInvestors } from '../db/crm.js';
import { findEmailByGmailId, markDeleted, setLabels, storedGmailIds } from '../db/emails.js';
import { credentialsFromConfig, type CredentialProvider } from '../gmail/auth.js';
import { createAccountClient, createProjectQuota, type GmailAccountClient } from '../gmail/client.js';
import type { QuotaLimiter } from '../gmail/limits.js';
import { parseGmailMessage, type CanonicalMessage } from '../mail/parse.js';
import { InvestorIndex, splitQuery, type MatchResult } from '../match/investorIndex.js';
import { captureMessage } from '../capture.js';
import { removeQueuedFiles } from '../privacy/purge.js';
import { AttachmentStore, downloadPendingAttachments, resolvedParts } from '../attachments.js';
import { listPendingAttachments } from '../db/attachments.js';
import type { AttachmentOutcome, MailboxClient, MailStore, MatchIndex } from './ports.js';
import type { SyncEnvironment, SyncReporter } from './runSync.js';

/** The investor index from the CRM's investors, the exclusion table and the configuration. */
export function buildInvestorIndex(db: Db, config: Config): InvestorIndex {
  return InvestorIndex.build(listInvestors(db), {
    workspaceDomain: config.workspaceDomain ?? '',
    exclusions: [...config.excludedAddresses, ...listExclusions(db)],
    personalDomains: config.personalDomains,
  });
}

export function asMatchIndex(index: InvestorIndex): MatchIndex {
  return {
    match: (message, accountEmail) => index.match(message as CanonicalMessage, accountEmail),
    searchQueries: () => index.searchQueries(),
    terms: () => index.terms(),
    queriesForTerms: (terms) => index.queriesForTerms(terms),
    exclusionSearch: () => index.exclusionSearch(),
    splitSearch: (query) => splitQuery(query),
  };
}

/** Attachments whose bytes arrive with the message (small inline parts have no attachment id) are stored at capture. */
export function mailStore(db: Db, config: Config, options: { attachmentsWritable?: boolean } = {}): MailStore {
  const store = options.attachmentsWritable === false ? undefined : new AttachmentStore(config.attachmentsDir);
  const attachments = { store, maxBytes: config.maxAttachmentMb * 1024 * 1024 };
  return {
    parse: (message) => parseGmailMessage(message),
    headerProblems: (message) => (message as CanonicalMessage).problems.filter((problem) => problem.startsWith('headers:')),
    storedGmailIds: (accountId, ids) => storedGmailIds(db, accountId, ids),
    capture: (accountId, message, match, contentLevel) =>
      captureMessage(db, { accountId, message: message as CanonicalMessage, match: match as MatchResult, contentLevel, attachments }),
    markDeleted: (accountId, ids) => ids.filter((id) => markDeleted(db, accountId, id)).length,
    setLabels: (accountId, id, labelIds) => {
      // Only a real change counts (and is written): the run reports label changes, not label reads.
      const row = findEmailByGmailId(db, accountId, id);
      if (!row || sameLabels(row.label_ids, labelIds)) return false;
      return setLabels(db, accountId, id, labelIds);
    },
    activeGmailIdsSince: (accountId, sinceMs) => activeGmailIdsSince(db, accountId, sinceMs),
  };
}

function sameLabels(stored: string | null, labels: string[]): boolean {
  let current: unknown;
  try {
    current = JSON.parse(stored ?? '[]');
  } catch {
    return false;
  }
  if (!Array.isArray(current) || current.length !== labels.length) return false;
  const set = new Set(current);
  return labels.every((label) => set.has(label));
}

/** A failed download is tried again by this many runs, then left failed (status alerts on it). */
export const MAX_ATTACHMENT_ATTEMPTS = 5;

/** One credential provider per auth method, shared by the accounts of a run (tokens are cached per user). */
export class ClientFactory {
  private readonly providers = new Map<string, CredentialProvider>();
  private readonly projectQuota: QuotaLimiter;

  constructor(
    private readonly db: Db,
    private readonly config: Config,
  ) {
    this.projectQuota = createProjectQuota(config);
  }

  open(account: Pick<Account, 'email' | 'authMethod'>): GmailAccountClient {
    let provider = this.providers.get(account.authMethod);
    if (!provider) {
      provider = credentialsFromConfig({ ...this.config, authMethod: account.authMethod }, { db: this.db });
      this.providers.set(account.authMethod, provider);
    }
    return createAccountClient(this.config, provider, account.email, this.projectQuota);
  }
}

export async function downloadAttachmentsFor(db: Db, config: Config, accountId: number, client: GmailAccountClient): Promise<AttachmentOutcome> {
  const store = new AttachmentStore(config.attachmentsDir);
  const result = await downloadPendingAttachments(db, store, (gmailId, attachmentId) => client.getAttachment(gmailId, attachmentId), {
    accountId,
    maxAttempts: MAX_ATTACHMENT_ATTEMPTS,
    concurrency: config.attachConcurrency,
    maxBytes: config.maxAttachmentMb * 1024 * 1024,
    // Attachment ids are ephemeral in Gmail: a fresh format=full fetch gives the current ones.
    resolve: async (gmailId) => resolvedParts(await parseGmailMessage(await client.getMessage(gmailId, 'full'))),
  });
  return { stored: result.stored, failed: result.failed, skipped: result.skipped, reason: result.reasons.length > 0 ? result.reasons.join('; ') : undefined };
}

/** The folder cannot be written: every attachment still to fetch waits, with the reason, and none is tried. */
export function attachmentsNotAttempted(db: Db, accountId: number, problem: string): AttachmentOutcome {
  const waiting = listPendingAttachments(db, accountId, MAX_ATTACHMENT_ATTEMPTS).length;
  return { stored: 0, failed: waiting, skipped: 0, reason: problem, notAttempted: true };
}

export function syncEnvironment(db: Db, config: Config, reporter: SyncReporter, notice?: (line: string) => void): SyncEnvironment {
  const clients = new ClientFactory(db, config);
  // Once per run, before anything is downloaded: an unwritable folder fails every download the same way.
  const attachmentsProblem = new AttachmentStore(config.attachmentsDir).writeProblem();
  const opened = new Map<number, GmailAccountClient>();
  return {
    db,
    capture: config.capture,
    pageSize: config.backfillPageSize,
    historyStaleDays: config.historyStaleDays,
    accountConcurrency: config.accountConcurrency,
    lockWait: { waitMs: config.dbLockWaitSec * 1000, onWait: notice },
    leaseTtlMs: config.leaseSeconds * 1000,
    notice,
    buildIndex: () => asMatchIndex(buildInvestorIndex(db, config)),
    store: mailStore(db, config, { attachmentsWritable: attachmentsProblem === undefined }),
    openClient: async (account) => {
      const client = clients.open(account);
      opened.set(account.id, client);
      return client as MailboxClient;
    },
    downloadAttachments: async (account) =>
      attachmentsProblem ? attachmentsNotAttempted(db, account.id, attachmentsProblem) : downloadAttachmentsFor(db, config, account.id, opened.get(account.id)!),
    sweepRemovedFiles: () => removeQueuedFiles(db, new AttachmentStore(config.attachmentsDir)),
    sweepAttachmentTemp: () => new AttachmentStore(config.attachmentsDir).sweepTemp(undefined, pidIsAlive),
    reporter,
  };
}
