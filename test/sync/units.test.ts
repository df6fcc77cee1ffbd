import { describe, expect, it } from 'vitest';
import { cursorAfterPage, foldHistory } from '../../src/sync/history.js';
import { listingTotalEstimate, parseCheckpoint, serializeCheckpoint, windowedQuery, type ListingCheckpoint } from '../../src/sync/checkpoint.js';
import { judgeHealth } from '../../src/sync/status.js';
import { mapBounded } from '../../src/sync/runSync.js';
import { progressLine } from '../../src/sync/report.js';
import type { Account } from '../../src/db/accounts.js';

describe('history folding', () => {
  it('keeps the order of additions, cancels an addition deleted later in the page, and keeps the last label set', () => {
    const folded = foldHistory([
      { id: '10', messagesAdded: [{ message: { id: 'a', labelIds: ['INBOX'] } }, { message: { id: 'b', labelIds: ['INBOX'] } }] },
      { id: '12', labelsAdded: [{ message: { id: 'a', labelIds: ['INBOX', 'STARRED'] }, labelIds: ['STARRED'] }] },
      { id: '15', messagesDeleted: [{ message: { id: 'b' } }, { message: { id: 'old' } }] },
      { id: '17', labelsRemoved: [{ message: { id: 'c' }, labelIds: ['UNREAD'] }] },
      { id: '19', messagesAdded: [{ message: { id: 'd' } }] },
    ]);
    expect(folded.added).toEqual(['a', 'd']);
    expect([...folded.deleted].sort()).toEqual(['b', 'old']);
    expect(folded.labels.get('a')).toEqual(['INBOX', 'STARRED']);
    expect(folded.labels.has('b')).toBe(false);
    expect([...folded.labelsUnknown]).toEqual(['c']);
    expect(folded.lastRecordId).toBe('19');
  });

  it('sends ids taken out of Spam or Trash the way of new messages, unless deleted later in the page', () => {
    const folded = foldHistory([
      { id: '20', labelsRemoved: [{ message: { id: 'spam', labelIds: ['INBOX'] }, labelIds: ['SPAM'] }] },
      { id: '21', labelsRemoved: [{ message: { id: 'trash', labelIds: ['INBOX'] }, labelIds: ['TRASH'] }] },
      { id: '22', labelsRemoved: [{ message: { id: 'read', labelIds: ['INBOX'] }, labelIds: ['UNREAD'] }] },
      { id: '23', labelsRemoved: [{ message: { id: 'gone', labelIds: ['INBOX'] }, labelIds: ['SPAM'] }] },
      { id: '24', messagesDeleted: [{ message: { id: 'gone' } }] },
      { id: '25', messagesAdded: [{ message: { id: 'new', labelIds: ['SPAM'] } }] },
      { id: '26', labelsRemoved: [{ message: { id: 'new', labelIds: ['INBOX'] }, labelIds: ['SPAM'] }] },
    ]);
    expect(folded.rescued).toEqual(['spam', 'trash']);
    expect(folded.added).toEqual(['new']);
    expect(folded.labels.get('new')).toEqual(['INBOX']);
  });

  it('moves the cursor to the last record while pages follow, to Gmail\'s current id on the last page', () => {
    const folded = foldHistory([{ id: '40' }, { id: '44' }]);
    expect(cursorAfterPage({ history: [], nextPageToken: 'p2', historyId: '90' }, folded, '30')).toBe('44');
    expect(cursorAfterPage({ history: [], historyId: '90' }, folded, '30')).toBe('90');
    expect(cursorAfterPage({ history: [], nextPageToken: 'p2', historyId: '90' }, foldHistory([]), '30')).toBe('30');
  });
});

describe('listing checkpoint', () => {
  const checkpoint: ListingCheckpoint = {
    version: 1,
    kind: 'relist',
    cursor: '123',
    startedAt: '2026-11-29T00:00:00.000Z',
    queries: ['{from:a.com}', '{from:b.com}'],
    terms: ['a.com', 'b.com'],
    queryIndex: 1,
    pageToken: 'tok',
    pagesDone: 4,
    pageDone: ['a1', 'a2'],
    handled: 402,
    estimates: [380, 60],
    searchListed: 12,
    sinceMs: 1_700_000_000_500,
    reason: 'history_expired',
  };
  it('round-trips, and anything unreadable counts as no checkpoint', () => {
    expect(parseCheckpoint(serializeCheckpoint(checkpoint))).toEqual(checkpoint);
    expect(parseCheckpoint('{"version":2}')).toBeUndefined();
    expect(parseCheckpoint('not json')).toBeUndefined();
    expect(parseCheckpoint(null)).toBeUndefined();
  });
  it('a checkpoint from before chunked pages reads as nothing settled in its page', () => {
    const { pageDone: _p, handled: _h, estimates: _e, searchListed: _s, ...old } = checkpoint;
    expect(parseCheckpoint(JSON.stringify(old))).toMatchObject({ pageToken: 'tok', pageDone: [], handled: 0, estimates: [], searchListed: 0 });
  });
  it('estimates the listing total from the searches begun, the rest taken as their average', () => {
    expect(listingTotalEstimate(checkpoint)).toBe(440);
    expect(listingTotalEstimate({ ...checkpoint, queries: ['a', 'b', 'c', 'd'] })).toBe(880);
    expect(listingTotalEstimate({ ...checkpoint, estimates: [] })).toBeUndefined();
    // Never below what was already settled (Gmail's estimates can be low).
    expect(listingTotalEstimate({ ...checkpoint, handled: 1000 })).toBe(1000);
  });
  it('bounds a search by epoch seconds', () => {
    expect(windowedQuery('{from:a.com}', 1_700_000_000_500)).toBe('({from:a.com}) after:1700000000');
    expect(windowedQuery('', 1_700_000_000_500)).toBe('after:1700000000');
    expect(windowedQuery('{from:a.com}', undefined)).toBe('{from:a.com}');
  });
});

describe('account health', () => {
  const base: Account = {
    id: 1, userId: 1, email: 'jane@firm.com', authMethod: 'dwd', status: 'active', oauthTokenSealed: null, historyId: '1', historyIdAt: null,
    backfillCheckpoint: null, backfillCompletedAt: null, searchedTerms: null, lastSuccessAt: null, lastError: null, lastErrorAt: null,
    consecutiveFailures: 0, shareLevel: 'full', createdAt: '2026-11-29T10:00:00.000Z', updatedAt: '2026-11-29T10:00:00.000Z',
  };
  const now = new Date('2026-11-29T11:00:00.000Z');
  it('alerts on failure, consent, and a last success older than twice the interval; never on a paused account', () => {
    expect(judgeHealth({ ...base, lastSuccessAt: '2026-11-29T10:45:00.000Z' }, now, 15)).toMatchObject({ health: 'ok', alert: false });
    expect(judgeHealth({ ...base, lastSuccessAt: '2026-11-29T10:29:00.000Z' }, now, 15)).toMatchObject({ health: 'stale', alert: true });
    expect(judgeHealth({ ...base, lastSuccessAt: '2026-11-29T10:59:00.000Z', consecutiveFailures: 2 }, now, 15)).toMatchObject({ health: 'failing', alert: true });
    expect(judgeHealth({ ...base, status: 'needs_consent' }, now, 15)).toMatchObject({ health: 'needs_consent', alert: true });
    expect(judgeHealth({ ...base, status: 'paused', consecutiveFailures: 3 }, now, 15)).toMatchObject({ health: 'paused', alert: false });
    expect(judgeHealth({ ...base, createdAt: '2026-11-29T10:50:00.000Z' }, now, 15)).toMatchObject({ health: 'pending', alert: false });
    expect(judgeHealth(base, now, 15)).toMatchObject({ health: 'stale', alert: true });
    // A long first backfill that is still running is progress, not staleness.
    expect(judgeHealth(base, now, 15, { running: true })).toMatchObject({ health: 'syncing', alert: false });
  });
});

describe('bounded concurrency', () => {
  it('never runs more than the limit at once and keeps the input order', async () => {
    let running = 0;
    let peak = 0;
    const results = await mapBounded([5, 1, 4, 2, 3, 1], 2, async (ms) => {
      running += 1;
      peak = Math.max(peak, running);
      await new Promise((resolve) => setTimeout(resolve, ms * 5));
      running -= 1;
      return ms * 10;
    });
    expect(results).toEqual([50, 10, 40, 20, 30, 10]);
    expect(peak).toBe(2);
  });
});

describe('backfill progress on a terminal', () => {
  it('counts messages settled over the whole listing and gives the time left at the quota budget', () => {
    const progress = { phase: 'backfill' as const, listed: 300, stored: 280, handled: 1300, estimate: 4000, etaMs: 600_000 };
    expect(progressLine('jane@firm.com', progress)).toBe('jane@firm.com  backfill [########----------------] 1,300/~4,000 messages, stored 280, ~10m00s left at the quota budget');
    // Between updates (a wait for the quota window) the time left counts down, never below zero.
    expect(progressLine('jane@firm.com', progress, 45_000)).toMatch(/~9m15s left at the quota budget$/);
    expect(progressLine('jane@firm.com', progress, 900_000)).toMatch(/~0ms left at the quota budget$/);
  });
  it('never overfills the gauge when Gmail under-estimated, and says nothing of time when it cannot know', () => {
    const line = progressLine('jane@firm.com', { phase: 'backfill', listed: 10, stored: 10, handled: 10 });
    expect(line).toMatch(/\[ {24}\] 10 messages, stored 10$/);
    expect(progressLine('jane@firm.com', { phase: 'backfill', listed: 900, stored: 900, handled: 900, estimate: 600 })).toMatch(/\[ {24}\] 900 messages/);
    expect(progressLine('jane@firm.com', { phase: 'deferred', listed: 0, stored: 2 })).toBe('jane@firm.com  deferred  stored 2');
  });
});

