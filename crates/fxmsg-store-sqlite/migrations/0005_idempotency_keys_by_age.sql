-- Pruning finds expired idempotency keys through this index, oldest first, instead of walking the
-- whole key table on every pass (at 100 keyed sends a second, a 24-hour window holds 8.6 million
-- keys, and a walk of them took longer than the minute between passes). Keys are created in time
-- order, so a send appends at the index's right edge: one page that each commit already has dirty.
CREATE INDEX idempotency_keys_by_age ON idempotency_keys(created_at);
