-- Mailbox copies of one logical message are checked against each other (issue 17).
-- body_digest: sha256 of the copy's body text (NULL for a copy stored without its body).
ALTER TABLE emails ADD COLUMN body_digest TEXT;
-- 1 when another live copy under the same message key has a different body: the copies stay
-- separate rows, and review says the message reads differently in different mailboxes.
ALTER TABLE emails ADD COLUMN copies_differ INTEGER NOT NULL DEFAULT 0;
CREATE INDEX IF NOT EXISTS emails_message_key_digest ON emails (message_key, body_digest);
