-- Who vouches for a mailbox copy's sender (issue 17): anyone can write a partner's or an investor's
-- address in From, so review marks a message whose sender nothing vouches for.
--   sent: the copy carries Gmail's SENT label (the mailbox owner sent it);
--   dkim / spf: Gmail's Authentication-Results show a DKIM or SPF pass for the From domain;
--   none: neither (review shows "unverified sender").
-- NULL: stored before this migration, not checked.
ALTER TABLE emails ADD COLUMN sender_auth TEXT CHECK (sender_auth IN ('sent', 'dkim', 'spf', 'none'));
