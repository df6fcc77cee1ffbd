-- Drafted activity notes waiting for a partner's decision. One per logical message and investor:
-- the unique key (not a check-then-insert) is what keeps two concurrent propose runs from duplicating.
CREATE TABLE email_activity_proposals (
  id INTEGER PRIMARY KEY,
  message_key TEXT NOT NULL,
  -- The mailbox copy the note was drafted from, so the reviewer can open it.
  email_id INTEGER REFERENCES emails(id) ON DELETE SET NULL,
  investor_id INTEGER NOT NULL REFERENCES investors(id),
  direction TEXT CHECK (direction IN ('sent', 'received', 'internal')),
  message_date_ms INTEGER,
  drafted_note TEXT NOT NULL,
  edited_note TEXT,
  final_note TEXT,
  status TEXT NOT NULL DEFAULT 'pending' CHECK (status IN ('pending', 'approved', 'dismissed')),
  decided_by INTEGER REFERENCES users(id),
  decided_at TEXT,
  drafter TEXT NOT NULL,
  model TEXT,
  tokens_in INTEGER,
  tokens_out INTEGER,
  created_at TEXT NOT NULL DEFAULT (strftime('%Y-%m-%dT%H:%M:%fZ', 'now')),
  UNIQUE (message_key, investor_id)
);
CREATE INDEX email_activity_proposals_status ON email_activity_proposals(status, created_at);
