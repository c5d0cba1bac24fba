-- Sandboxes: corps created (and deletable) as a whole by the test kit; employees' mobiles.
ALTER TABLE corps ADD COLUMN sandbox INTEGER NOT NULL DEFAULT 0;
ALTER TABLE employees ADD COLUMN mobile TEXT;
-- Deleting a corp finds its tokens and media by these. Messages, deliveries, events and
-- idempotency keys already have an index that starts with the corp (or its apps), and the send
-- path is not made to maintain another.
CREATE INDEX tokens_by_corp ON tokens(corp_id);
CREATE INDEX media_by_corp ON media(corp_id);
