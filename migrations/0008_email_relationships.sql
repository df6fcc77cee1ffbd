-- Numbered after the migrations that rebuild email tables: SQLite refuses to rename a rebuilt table
-- while a view names the old one, so views come after every rebuild (a later rebuild must drop and
-- recreate this view).
-- Relationship intelligence from the captured mail (issue 16): the per-investor activity view the
-- CRM's own web app may read, and the full-text index behind `crm-mail search`. Both are derived
-- from crm-mail's tables only; nothing here writes into a CRM table.

-- email_investor_activity: one row per investor with at least one counted touch. A touch is a
-- mailbox copy matched to the investor that is neither bulk mail (newsletters) nor internal-only.
-- Inbound = direction 'received' (from outside the firm), outbound = 'sent' (from the firm).
-- A thread is two-way for an investor when it holds both; its exchange time is the earlier of its
-- last inbound and its last outbound message (an unanswered follow-up does not refresh it).
-- The strongest partner has written in the most two-way threads whose exchange is in the last 365
-- days; ties go to the partner who wrote most recently, then by address. Times are epoch
-- milliseconds (Gmail internalDate) with an ISO-8601 UTC twin; "now" is the reader's clock.
CREATE VIEW email_investor_activity AS
WITH RECURSIVE
  roots(id, root) AS (
    SELECT id, id FROM email_threads WHERE merged_into IS NULL
    UNION ALL
    SELECT t.id, r.root FROM email_threads t JOIN roots r ON t.merged_into = r.id
  ),
  clock(now_ms) AS (SELECT CAST(round((julianday('now') - 2440587.5) * 86400000) AS INTEGER)),
  touch AS MATERIALIZED (
    SELECT m.investor_id, e.id AS email_id, coalesce(r.root, -e.id) AS thread, e.internal_date_ms AS ms,
           e.direction, lower(e.from_address) AS from_address, e.from_name
      FROM email_investor_matches m
      JOIN emails e ON e.id = m.email_id
      LEFT JOIN roots r ON r.id = e.thread_id
     WHERE e.is_bulk = 0 AND e.direction IN ('sent', 'received')
  ),
  thread_sides AS MATERIALIZED (
    SELECT investor_id, thread,
           max(CASE WHEN direction = 'received' THEN ms END) AS last_in,
           max(CASE WHEN direction = 'sent' THEN ms END) AS last_out
      FROM touch GROUP BY investor_id, thread
  ),
  exchanges AS MATERIALIZED (
    SELECT investor_id, thread, min(last_in, last_out) AS exchange_ms
      FROM thread_sides WHERE last_in IS NOT NULL AND last_out IS NOT NULL
  ),
  partner_threads AS (
    SELECT t.investor_id, t.thread, t.from_address AS partner, max(t.ms) AS wrote_ms
      FROM touch t JOIN exchanges x ON x.investor_id = t.investor_id AND x.thread = t.thread
     WHERE t.direction = 'sent' AND t.from_address IS NOT NULL
       AND x.exchange_ms >= (SELECT now_ms FROM clock) - 365 * 86400000
     GROUP BY t.investor_id, t.thread, t.from_address
  ),
  partner_rank AS MATERIALIZED (
    SELECT investor_id, partner, count(*) AS threads,
           row_number() OVER (PARTITION BY investor_id ORDER BY count(*) DESC, max(wrote_ms) DESC, partner) AS place
      FROM partner_threads GROUP BY investor_id, partner
  ),
  last_in AS MATERIALIZED (
    SELECT investor_id, ms, from_address, from_name,
           row_number() OVER (PARTITION BY investor_id ORDER BY ms DESC, email_id DESC) AS n
      FROM touch WHERE direction = 'received'
  ),
  last_out AS MATERIALIZED (
    SELECT investor_id, ms, from_address, from_name,
           row_number() OVER (PARTITION BY investor_id ORDER BY ms DESC, email_id DESC) AS n
      FROM touch WHERE direction = 'sent'
  ),
  per_investor AS MATERIALIZED (
    SELECT investor_id,
           count(DISTINCT CASE WHEN ms >= (SELECT now_ms FROM clock) - 90 * 86400000 THEN thread END) AS threads_90d,
           max(ms) AS last_touch_ms
      FROM touch GROUP BY investor_id
  ),
  two_way AS MATERIALIZED (
    SELECT investor_id, max(exchange_ms) AS last_ms,
           count(CASE WHEN exchange_ms >= (SELECT now_ms FROM clock) - 365 * 86400000 THEN 1 END) AS threads_12m
      FROM exchanges GROUP BY investor_id
  ),
  pending AS MATERIALIZED (
    SELECT investor_id, count(*) AS n FROM email_activity_proposals WHERE status = 'pending' GROUP BY investor_id
  )
SELECT i.id AS investor_id,
       i.name AS investor_name,
       li.ms AS last_inbound_ms,
       strftime('%Y-%m-%dT%H:%M:%fZ', li.ms / 1000.0, 'unixepoch') AS last_inbound_at,
       li.from_address AS last_inbound_from_address,
       li.from_name AS last_inbound_from_name,
       lo.ms AS last_outbound_ms,
       strftime('%Y-%m-%dT%H:%M:%fZ', lo.ms / 1000.0, 'unixepoch') AS last_outbound_at,
       lo.from_address AS last_outbound_partner_address,
       coalesce((SELECT u.name FROM users u WHERE lower(u.email) = lo.from_address), lo.from_name) AS last_outbound_partner_name,
       tw.last_ms AS last_two_way_ms,
       strftime('%Y-%m-%dT%H:%M:%fZ', tw.last_ms / 1000.0, 'unixepoch') AS last_two_way_at,
       CASE WHEN tw.last_ms IS NULL THEN NULL ELSE ((SELECT now_ms FROM clock) - tw.last_ms) / 86400000 END AS days_since_two_way,
       p.threads_90d,
       coalesce(tw.threads_12m, 0) AS two_way_threads_12m,
       s1.partner AS strongest_partner_address,
       (SELECT u.name FROM users u WHERE lower(u.email) = s1.partner) AS strongest_partner_name,
       s1.threads AS strongest_partner_threads,
       s2.partner AS runner_up_partner_address,
       (SELECT u.name FROM users u WHERE lower(u.email) = s2.partner) AS runner_up_partner_name,
       s2.threads AS runner_up_partner_threads,
       coalesce(pe.n, 0) AS pending_proposals,
       p.last_touch_ms
  FROM per_investor p
  JOIN investors i ON i.id = p.investor_id
  LEFT JOIN last_in li ON li.investor_id = p.investor_id AND li.n = 1
  LEFT JOIN last_out lo ON lo.investor_id = p.investor_id AND lo.n = 1
  LEFT JOIN two_way tw ON tw.investor_id = p.investor_id
  LEFT JOIN partner_rank s1 ON s1.investor_id = p.investor_id AND s1.place = 1
  LEFT JOIN partner_rank s2 ON s2.investor_id = p.investor_id AND s2.place = 2
  LEFT JOIN pending pe ON pe.investor_id = p.investor_id;

-- The text `crm-mail search` reads, one row per stored mailbox copy: exactly what the row holds
-- (a metadata-only copy has no body; a withheld subject or body is NULL), so the index can never
-- hold text the table does not. (No json_each here: SQLite refuses table-valued functions in the
-- triggers below, which read this view.)
CREATE VIEW email_search_source AS
SELECT e.id,
       e.subject,
       e.body_text AS body,
       coalesce(e.from_name, '') || ' ' || coalesce(e.from_address, '') || ' ' ||
         -- JSON arrays as written by crm-mail; the key names and nulls are blanked so that the
         -- words "address", "name" and "null" are not in every row.
         replace(replace(replace(coalesce(e.to_json, ''), '"name":null', ' '), '"name":', ' '), '"address":', ' ') || ' ' ||
         replace(replace(replace(coalesce(e.cc_json, ''), '"name":null', ' '), '"name":', ' '), '"address":', ' ') AS people
  FROM emails e;

-- External-content FTS5 index over that view: the text is stored once (in emails), the index
-- holds only tokens. Porter stemming so "fee" finds "fees".
CREATE VIRTUAL TABLE email_search USING fts5(
  subject, body, people,
  content = 'email_search_source', content_rowid = 'id',
  tokenize = 'porter unicode61 remove_diacritics 2'
);

-- The index follows every write to emails, whichever code path makes it (capture, refetch, a
-- sharing level that nulls a body, purge, an account removed by cascade). An external-content
-- index must be told the old text to remove it, so the BEFORE triggers read it while the row
-- still holds it.
CREATE TRIGGER email_search_after_insert AFTER INSERT ON emails BEGIN
  INSERT INTO email_search (rowid, subject, body, people)
    SELECT id, subject, body, people FROM email_search_source WHERE id = new.id;
END;

CREATE TRIGGER email_search_before_delete BEFORE DELETE ON emails BEGIN
  INSERT INTO email_search (email_search, rowid, subject, body, people)
    SELECT 'delete', id, subject, body, people FROM email_search_source WHERE id = old.id;
END;

CREATE TRIGGER email_search_before_update BEFORE UPDATE OF id, subject, body_text, from_address, from_name, to_json, cc_json ON emails BEGIN
  INSERT INTO email_search (email_search, rowid, subject, body, people)
    SELECT 'delete', id, subject, body, people FROM email_search_source WHERE id = old.id;
END;

CREATE TRIGGER email_search_after_update AFTER UPDATE OF id, subject, body_text, from_address, from_name, to_json, cc_json ON emails BEGIN
  INSERT INTO email_search (rowid, subject, body, people)
    SELECT id, subject, body, people FROM email_search_source WHERE id = new.id;
END;

-- Mail stored before this migration.
INSERT INTO email_search (email_search) VALUES ('rebuild');
