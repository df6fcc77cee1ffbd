-- crm-mail's own capture tables. Times are ISO-8601 UTC text unless the column name ends in _ms
-- (epoch milliseconds, as Gmail's internalDate).

-- One enrolled mailbox.
CREATE TABLE email_accounts (
  id INTEGER PRIMARY KEY,
  user_id INTEGER NOT NULL UNIQUE REFERENCES users(id),
  email TEXT NOT NULL UNIQUE,
  auth_method TEXT NOT NULL DEFAULT 'dwd' CHECK (auth_method IN ('dwd', 'oauth')),
  -- needs_consent: the OAuth refresh token was revoked or expired; the partner must consent again.
  status TEXT NOT NULL DEFAULT 'active' CHECK (status IN ('active', 'paused', 'needs_consent')),
  -- AES-256-GCM sealed refresh token (oauth only); never stored in clear.
  oauth_token_sealed TEXT,
  -- The incremental cursor: Gmail historyId as text, and when it was last advanced.
  history_id TEXT,
  history_id_at TEXT,
  -- Backfill checkpoint (JSON: which search, which page token); NULL when no backfill is under way.
  backfill_checkpoint TEXT,
  backfill_completed_at TEXT,
  -- JSON list of the investor addresses and domains the mailbox has been searched for.
  searched_terms TEXT,
  last_success_at TEXT,
  last_error TEXT,
  last_error_at TEXT,
  consecutive_failures INTEGER NOT NULL DEFAULT 0,
  created_at TEXT NOT NULL DEFAULT (strftime('%Y-%m-%dT%H:%M:%fZ', 'now')),
  updated_at TEXT NOT NULL DEFAULT (strftime('%Y-%m-%dT%H:%M:%fZ', 'now'))
);

-- A conversation across mailboxes. A merged thread points at the one that absorbed it.
CREATE TABLE email_threads (
  id INTEGER PRIMARY KEY,
  subject TEXT,
  first_message_ms INTEGER,
  last_message_ms INTEGER,
  merged_into INTEGER REFERENCES email_threads(id),
  created_at TEXT NOT NULL DEFAULT (strftime('%Y-%m-%dT%H:%M:%fZ', 'now'))
);

-- The keys that join mail to a thread: 'g:<account id>:<gmail thread id>' within a mailbox and
-- 'm:<message key>' across mailboxes (Message-ID, In-Reply-To, References).
CREATE TABLE email_thread_keys (
  key TEXT PRIMARY KEY,
  thread_id INTEGER NOT NULL REFERENCES email_threads(id)
);
CREATE INDEX email_thread_keys_thread ON email_thread_keys(thread_id);

-- One row per mailbox copy of a message. message_key is the logical message: the normalized
-- RFC Message-ID, or a stable synthetic key when the message has none.
CREATE TABLE emails (
  id INTEGER PRIMARY KEY,
  account_id INTEGER NOT NULL REFERENCES email_accounts(id) ON DELETE CASCADE,
  gmail_id TEXT NOT NULL,
  gmail_thread_id TEXT,
  thread_id INTEGER REFERENCES email_threads(id),
  message_key TEXT NOT NULL,
  rfc_message_id TEXT,
  in_reply_to TEXT,
  -- Space-separated Message-IDs from References.
  references_ids TEXT,
  subject TEXT,
  from_address TEXT,
  from_name TEXT,
  -- JSON arrays of {address, name}.
  to_json TEXT,
  cc_json TEXT,
  bcc_json TEXT,
  reply_to_json TEXT,
  date_header TEXT,
  sent_ms INTEGER,
  internal_date_ms INTEGER NOT NULL,
  direction TEXT CHECK (direction IN ('sent', 'received', 'internal')),
  label_ids TEXT,
  snippet TEXT,
  body_text TEXT,
  size_estimate INTEGER,
  gmail_history_id TEXT,
  is_bulk INTEGER NOT NULL DEFAULT 0,
  -- JSON: list-unsubscribe, list-id, precedence, auto-submitted as found.
  bulk_signals TEXT,
  -- JSON list of what could not be parsed; the message is stored as well as it could be.
  parse_problems TEXT,
  -- 'metadata' when only headers were fetched (unmatched mail), 'full' when the body is stored.
  content_level TEXT NOT NULL DEFAULT 'full' CHECK (content_level IN ('metadata', 'full')),
  deleted_at TEXT,
  stored_at TEXT NOT NULL DEFAULT (strftime('%Y-%m-%dT%H:%M:%fZ', 'now')),
  UNIQUE (account_id, gmail_id)
);
CREATE INDEX emails_message_key ON emails(message_key);
CREATE INDEX emails_thread ON emails(thread_id);
CREATE INDEX emails_account_internal_date ON emails(account_id, internal_date_ms);
CREATE INDEX emails_internal_date ON emails(internal_date_ms);

CREATE TABLE email_participants (
  email_id INTEGER NOT NULL REFERENCES emails(id) ON DELETE CASCADE,
  role TEXT NOT NULL CHECK (role IN ('from', 'to', 'cc', 'bcc', 'reply_to')),
  address TEXT NOT NULL,
  name TEXT,
  PRIMARY KEY (email_id, role, address)
);
CREATE INDEX email_participants_address ON email_participants(address);

-- Which investors a mailbox copy involves, how (exact address or organization domain) and through
-- which address.
CREATE TABLE email_investor_matches (
  email_id INTEGER NOT NULL REFERENCES emails(id) ON DELETE CASCADE,
  investor_id INTEGER NOT NULL REFERENCES investors(id) ON DELETE CASCADE,
  strategy TEXT NOT NULL CHECK (strategy IN ('exact', 'domain')),
  matched_address TEXT NOT NULL,
  matched_at TEXT NOT NULL DEFAULT (strftime('%Y-%m-%dT%H:%M:%fZ', 'now')),
  PRIMARY KEY (email_id, investor_id)
);
CREATE INDEX email_investor_matches_investor ON email_investor_matches(investor_id);

-- Addresses or domains whose mail is never captured (in addition to CRM_GMAIL_EXCLUDE).
CREATE TABLE email_exclusions (
  pattern TEXT PRIMARY KEY,
  reason TEXT,
  created_at TEXT NOT NULL DEFAULT (strftime('%Y-%m-%dT%H:%M:%fZ', 'now'))
);

-- Attachment references; the bytes live once per SHA-256 under CRM_GMAIL_ATTACHMENTS_DIR.
CREATE TABLE email_attachments (
  id INTEGER PRIMARY KEY,
  email_id INTEGER NOT NULL REFERENCES emails(id) ON DELETE CASCADE,
  part_id TEXT NOT NULL,
  gmail_attachment_id TEXT,
  filename TEXT,
  content_type TEXT,
  size INTEGER,
  content_id TEXT,
  is_inline INTEGER NOT NULL DEFAULT 0,
  sha256 TEXT,
  storage_path TEXT,
  status TEXT NOT NULL DEFAULT 'pending' CHECK (status IN ('pending', 'stored', 'skipped', 'failed')),
  attempts INTEGER NOT NULL DEFAULT 0,
  error TEXT,
  updated_at TEXT NOT NULL DEFAULT (strftime('%Y-%m-%dT%H:%M:%fZ', 'now')),
  UNIQUE (email_id, part_id)
);
CREATE INDEX email_attachments_status ON email_attachments(status);
CREATE INDEX email_attachments_sha256 ON email_attachments(sha256);

-- One row per sync of one account.
CREATE TABLE email_sync_runs (
  id INTEGER PRIMARY KEY,
  account_id INTEGER NOT NULL REFERENCES email_accounts(id) ON DELETE CASCADE,
  kind TEXT NOT NULL CHECK (kind IN ('backfill', 'incremental', 'relist', 'remote_rematch')),
  status TEXT NOT NULL DEFAULT 'running' CHECK (status IN ('running', 'ok', 'partial', 'error')),
  started_at TEXT NOT NULL,
  finished_at TEXT,
  duration_ms INTEGER,
  listed INTEGER NOT NULL DEFAULT 0,
  fetched INTEGER NOT NULL DEFAULT 0,
  stored INTEGER NOT NULL DEFAULT 0,
  matched INTEGER NOT NULL DEFAULT 0,
  deleted INTEGER NOT NULL DEFAULT 0,
  label_changes INTEGER NOT NULL DEFAULT 0,
  attachments_stored INTEGER NOT NULL DEFAULT 0,
  api_calls INTEGER NOT NULL DEFAULT 0,
  api_units INTEGER NOT NULL DEFAULT 0,
  retries INTEGER NOT NULL DEFAULT 0,
  throttled INTEGER NOT NULL DEFAULT 0,
  error TEXT,
  -- JSON: which path the run took (e.g. history expired -> relist) and other particulars.
  details TEXT
);
CREATE INDEX email_sync_runs_account ON email_sync_runs(account_id, id);

-- At most one sync at a time: a lease with holder and expiry; a crashed holder's lease runs out.
CREATE TABLE email_sync_lease (
  name TEXT PRIMARY KEY,
  holder_pid INTEGER NOT NULL,
  holder_host TEXT NOT NULL,
  acquired_at TEXT NOT NULL,
  expires_at TEXT NOT NULL
);
