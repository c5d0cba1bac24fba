-- The event log: every change a reader of a stream cares about (a send, a revoke, a read), written
-- in the same transaction as the change. `global_seq` (the rowid) numbers every corp's events and
-- `seq` one corp's, both from 1 in commit order without gaps: the writer counts them on from the
-- log's newest and recounts after a rollback, and pruning always keeps the newest event of each
-- corp, so numbers never restart. Old events are pruned oldest first, in `global_seq` order
-- (commit order, so time order: no index by age, one b-tree insert fewer per send);
-- `event_watermarks` remembers how far, so a reader resuming from a pruned position is told to
-- refetch instead of missing events.
CREATE TABLE events (
    global_seq   INTEGER PRIMARY KEY,
    corp_id      TEXT NOT NULL,
    seq          INTEGER NOT NULL,
    kind         TEXT NOT NULL,
    message_seq  INTEGER NOT NULL,
    open_user_id TEXT,
    created_at   INTEGER NOT NULL,
    -- When the message was revoked, as of this event (NULL while it was not): a replayed event
    -- shows the message as the live one did.
    message_revoked_at INTEGER
) STRICT;
CREATE UNIQUE INDEX events_by_corp ON events(corp_id, seq);

-- Highest position pruned: per corp (`seq`), and under the corp '' for `global_seq`.
CREATE TABLE event_watermarks (
    corp_id        TEXT PRIMARY KEY,
    pruned_through INTEGER NOT NULL
) STRICT, WITHOUT ROWID;

-- When each recipient opened a message.
ALTER TABLE deliveries ADD COLUMN read_at INTEGER;
