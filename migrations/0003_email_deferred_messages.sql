-- Messages a run could not fetch after its retries. The run goes on without them (its page, its
-- checkpoint and its cursor move on); the next run tries them first. A message is never given up:
-- it stays here, with the last error, until it is stored or Gmail says it is gone.
CREATE TABLE email_deferred_messages (
  account_id INTEGER NOT NULL REFERENCES email_accounts(id) ON DELETE CASCADE,
  gmail_id TEXT NOT NULL,
  -- 'search': found by the investor searches (fetched in full at once); 'history': found by
  -- history.list (headers first, full only when it matches).
  source TEXT NOT NULL CHECK (source IN ('search', 'history')),
  error TEXT,
  attempts INTEGER NOT NULL DEFAULT 1,
  first_deferred_at TEXT NOT NULL,
  last_attempt_at TEXT NOT NULL,
  PRIMARY KEY (account_id, gmail_id)
);

-- How many messages each run deferred.
ALTER TABLE email_sync_runs ADD COLUMN deferred INTEGER NOT NULL DEFAULT 0;
