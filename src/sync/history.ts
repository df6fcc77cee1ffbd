/**
 * Incremental sync through history.list: page by page, new messages take the common store path,
 * deletions mark rows deleted (the row stays: an approved note may cite it), label changes replace
 * the stored labels, and the cursor moves in the same transaction as the page's rows.
 */
import { advanceCursor } from '../db/accounts.js';
import type { GmailHistoryRecord, HistoryPage } from './ports.js';
import { IGNORED_LABELS, storeNewMessages, type PageContext } from './storePage.js';

export const HISTORY_TYPES = ['messageAdded', 'messageDeleted', 'labelAdded', 'labelRemoved'];

/** What one page of history records amounts to, in the order Gmail recorded it. */
export interface FoldedHistory {
  /** Ids added and still present at the end of the page, in order. */
  added: string[];
  deleted: Set<string>;
  /** Latest full label set per id, when Gmail sent it. */
  labels: Map<string, string[]>;
  /** Ids whose labels changed but whose full label set was not sent. */
  labelsUnknown: Set<string>;
  /**
   * Ids taken out of Spam or Trash in this page (and not deleted later in it). Mail that arrived in
   * Spam was never stored, so for Gmail's "Not spam" (or a restore from Trash) the label change is
   * the first time crm-mail can see it: such an id goes the way of a new message.
   */
  rescued: string[];
  lastRecordId?: string;
}

/** Labels whose removal brings a message crm-mail left out (see IGNORED_LABELS) back into view. */
const RESCUE_LABELS = new Set(['SPAM', 'TRASH']);

export function foldHistory(records: GmailHistoryRecord[]): FoldedHistory {
  const added = new Map<string, true>();
  const deleted = new Set<string>();
  const labels = new Map<string, string[]>();
  const labelsUnknown = new Set<string>();
  const rescued = new Map<string, true>();
  let lastRecordId: string | undefined;
  for (const record of records) {
    if (record.id) lastRecordId = record.id;
    for (const item of record.messagesAdded ?? []) {
      const id = item.message?.id;
      if (!id) continue;
      deleted.delete(id);
      added.set(id, true);
      if (item.message?.labelIds) labels.set(id, [...item.message.labelIds]);
    }
    for (const item of record.messagesDeleted ?? []) {
      const id = item.message?.id;
      if (!id) continue;
      added.delete(id);
      rescued.delete(id);
      labels.delete(id);
      labelsUnknown.delete(id);
      deleted.add(id);
    }
    for (const item of [...(record.labelsAdded ?? []), ...(record.labelsRemoved ?? [])]) {
      const id = item.message?.id;
      if (!id || deleted.has(id)) continue;
      if (item.message?.labelIds) {
        labels.set(id, [...item.message.labelIds]);
        labelsUnknown.delete(id);
      } else {
        labelsUnknown.add(id);
      }
    }
    for (const item of record.labelsRemoved ?? []) {
      const id = item.message?.id;
      if (id && !deleted.has(id) && (item.labelIds ?? []).some((label) => RESCUE_LABELS.has(label))) rescued.set(id, true);
    }
  }
  return { added: [...added.keys()], deleted, labels, labelsUnknown, rescued: [...rescued.keys()].filter((id) => !added.has(id)), lastRecordId };
}

/** The cursor a committed page moves to: its last record while more pages follow, else Gmail's current id. */
export function cursorAfterPage(page: HistoryPage, folded: FoldedHistory, current: string): string {
  if (page.nextPageToken) return folded.lastRecordId ?? current;
  return page.historyId ?? folded.lastRecordId ?? current;
}

export interface HistoryOptions {
  onPage?: (changes: number) => void;
  /** Run bookkeeping, written inside each page's transaction. */
  inTransaction?: () => void;
  /** Epoch ms after which no further page is read; the cursor stays at the last committed page. */
  deadline?: number;
}

/**
 * Applies history from `startHistoryId`; throws HistoryExpiredError (from the client) when Gmail no
 * longer has it. Returns the cursor reached and whether the history was read to its end.
 */
export async function walkHistory(context: PageContext, startHistoryId: string, options: HistoryOptions = {}): Promise<{ cursor: string; complete: boolean }> {
  let cursor = startHistoryId;
  let changes = 0;
  for await (const page of context.client.listHistory({ startHistoryId, historyTypes: HISTORY_TYPES })) {
    const folded = foldHistory(page.history ?? []);
    context.counts.listed += folded.added.length;
    // A rescued id already stored (it was captured before it went to Trash) is skipped by the store
    // path; one never stored is fetched headers first like any new message.
    const candidates = [...folded.added, ...folded.rescued];
    const toFetch = candidates.filter((id) => !(folded.labels.get(id) ?? []).some((label) => IGNORED_LABELS.has(label)));
    const unknown = [...folded.labelsUnknown].filter((id) => !folded.added.includes(id));
    const refreshed = await currentLabels(context, unknown);
    const next = cursorAfterPage(page, folded, cursor);
    await storeNewMessages(context, toFetch, 'history', () => {
      if (folded.deleted.size > 0) context.counts.deleted += context.store.markDeleted(context.accountId, [...folded.deleted]);
      for (const [id, labelIds] of [...folded.labels, ...refreshed]) {
        if (context.store.setLabels(context.accountId, id, labelIds)) context.counts.labelChanges += 1;
      }
      advanceCursor(context.db, context.accountId, next);
      options.inTransaction?.();
    });
    cursor = next;
    changes += (page.history ?? []).length;
    options.onPage?.(changes);
    if (page.nextPageToken && options.deadline !== undefined && Date.now() >= options.deadline) return { cursor, complete: false };
  }
  return { cursor, complete: true };
}

/** Full label sets for stored messages whose history records carried only the change. */
async function currentLabels(context: PageContext, ids: string[]): Promise<Map<string, string[]>> {
  const result = new Map<string, string[]>();
  const stored = context.store.storedGmailIds(context.accountId, ids);
  const wanted = ids.filter((id) => stored.has(id));
  if (wanted.length === 0) return result;
  const answers = await context.client.getMessages(wanted, 'minimal');
  for (const id of wanted) {
    const answer = answers.get(id);
    if (answer && !(answer instanceof Error)) result.set(id, answer.labelIds ?? []);
  }
  return result;
}
