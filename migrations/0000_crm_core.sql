-- The CRM tables crm-mail reads or writes but does not own (DESIGN.md, "The CRM contract").
-- Created only when missing, so a fresh file works for the demo and tests; on a real CRM these
-- statements change nothing.
CREATE TABLE IF NOT EXISTS users (
  id INTEGER PRIMARY KEY,
  email TEXT NOT NULL UNIQUE,
  name TEXT,
  is_active INTEGER NOT NULL DEFAULT 1
);

CREATE TABLE IF NOT EXISTS investors (
  id INTEGER PRIMARY KEY,
  name TEXT NOT NULL,
  -- One or several addresses, as people typed them: `"Jane Roe" <jane@x.com>; bob@x.com`.
  email TEXT,
  firm TEXT
);

CREATE TABLE IF NOT EXISTS fundraising_state (
  investor_id INTEGER PRIMARY KEY REFERENCES investors(id),
  notes TEXT,
  updated_at TEXT,
  updated_by INTEGER REFERENCES users(id)
);

CREATE TABLE IF NOT EXISTS app_settings (
  key TEXT PRIMARY KEY,
  value TEXT
);
