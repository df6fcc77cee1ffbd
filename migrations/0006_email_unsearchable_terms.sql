-- Investor addresses and domains Gmail refused to search in a mailbox, even alone in a query (HTTP
-- 400 on messages.list). The listing goes on without them; status and doctor name them so an admin
-- can correct the CRM cell. A listing that covers every term replaces the account's set.
CREATE TABLE email_unsearchable_terms (
  account_id INTEGER NOT NULL REFERENCES email_accounts(id) ON DELETE CASCADE,
  term TEXT NOT NULL,
  error TEXT,
  first_seen_at TEXT NOT NULL,
  last_seen_at TEXT NOT NULL,
  PRIMARY KEY (account_id, term)
);
