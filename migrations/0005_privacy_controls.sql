-- Privacy controls (issue 15): who excluded whom, how much of each mailbox is shared, what a copy
-- holds back and why, withdrawn proposals, and the attachment files waiting to be removed.

-- Who added an exclusion (CRM_MAIL_USER, else the OS user), so a later admin knows whom to ask.
ALTER TABLE email_exclusions ADD COLUMN added_by TEXT;

-- How much of a mailbox's mail is stored: 'metadata' (headers and participants), 'subject' (and the
-- subject) or 'full' (and body and attachments). The owner's choice, with who recorded it and when.
ALTER TABLE email_accounts ADD COLUMN share_level TEXT NOT NULL DEFAULT 'full' CHECK (share_level IN ('metadata', 'subject', 'full'));
ALTER TABLE email_accounts ADD COLUMN share_set_by TEXT;
ALTER TABLE email_accounts ADD COLUMN share_set_at TEXT;

-- What a copy holds back: 'body' (body, snippet, attachments) or 'subject' (the subject as well);
-- NULL when nothing is. The reason is 'sharing' (the mailbox's level) or 'retention' (purge --older-than).
ALTER TABLE emails ADD COLUMN withheld TEXT CHECK (withheld IN ('body', 'subject'));
ALTER TABLE emails ADD COLUMN withheld_reason TEXT CHECK (withheld_reason IN ('sharing', 'retention'));

-- Attachment files whose last reference a purge removed. Queued in the purge's own transaction and
-- removed after it commits, so a crash in between leaves a queue entry (finished by the next sync or
-- purge), never a row that points at a missing file nor a file nothing knows about.
CREATE TABLE email_blob_removals (
  sha256 TEXT PRIMARY KEY,
  queued_at TEXT NOT NULL
);

-- Proposals get a status of their own for mail purged after they were drafted (an exclusion, a
-- lowered sharing level): kept for audit, never applied. SQLite cannot change a CHECK in place, so
-- the table is rebuilt with the same columns and indexes.
CREATE TABLE email_activity_proposals_new (
  id INTEGER PRIMARY KEY,
  message_key TEXT NOT NULL,
  email_id INTEGER REFERENCES emails(id) ON DELETE SET NULL,
  investor_id INTEGER NOT NULL REFERENCES investors(id),
  direction TEXT CHECK (direction IN ('sent', 'received', 'internal')),
  message_date_ms INTEGER,
  drafted_note TEXT NOT NULL,
  edited_note TEXT,
  final_note TEXT,
  status TEXT NOT NULL DEFAULT 'pending' CHECK (status IN ('pending', 'approved', 'dismissed', 'withdrawn')),
  decided_by INTEGER REFERENCES users(id),
  decided_at TEXT,
  drafter TEXT NOT NULL,
  model TEXT,
  tokens_in INTEGER,
  tokens_out INTEGER,
  created_at TEXT NOT NULL DEFAULT (strftime('%Y-%m-%dT%H:%M:%fZ', 'now')),
  -- Why and when a pending proposal was withdrawn.
  withdrawn_reason TEXT,
  withdrawn_at TEXT,
  UNIQUE (message_key, investor_id)
);
INSERT INTO email_activity_proposals_new
  (id, message_key, email_id, investor_id, direction, message_date_ms, drafted_note, edited_note, final_note, status,
   decided_by, decided_at, drafter, model, tokens_in, tokens_out, created_at)
SELECT id, message_key, email_id, investor_id, direction, message_date_ms, drafted_note, edited_note, final_note, status,
       decided_by, decided_at, drafter, model, tokens_in, tokens_out, created_at
  FROM email_activity_proposals;
DROP TABLE email_activity_proposals;
ALTER TABLE email_activity_proposals_new RENAME TO email_activity_proposals;
CREATE INDEX email_activity_proposals_status ON email_activity_proposals(status, created_at);
