-- A send writes one message and one inbox row per recipient; make each of those one b-tree insert
-- fewer. Runs with foreign-key enforcement off (SQLite's procedure for rebuilding a table);
-- `SqliteStore::open` runs `PRAGMA foreign_key_check` afterwards.

-- Messages: `seq` without AUTOINCREMENT. Messages are never deleted, so the next rowid is always
-- max + 1 and stays monotonic; AUTOINCREMENT only added an update of `sqlite_sequence` per send.
CREATE TABLE messages_v3 (
    seq            INTEGER PRIMARY KEY,
    message_id     TEXT NOT NULL UNIQUE,
    corp_id        TEXT NOT NULL REFERENCES corps(corp_id),
    app_id         TEXT NOT NULL REFERENCES apps(app_id),
    service_id     TEXT,
    msg_type       TEXT NOT NULL,
    content        TEXT NOT NULL,
    recipients     TEXT NOT NULL,
    invalid_users  TEXT NOT NULL,
    raw_request    TEXT NOT NULL,
    third_trace_id TEXT,
    trace_id       TEXT NOT NULL,
    created_at     INTEGER NOT NULL,
    revoked_at     INTEGER
) STRICT;
INSERT INTO messages_v3 SELECT * FROM messages;
DROP TABLE messages;
ALTER TABLE messages_v3 RENAME TO messages;
CREATE INDEX messages_by_corp ON messages(corp_id, seq);

-- Inbox rows keyed the way they are read: an employee's inbox, newest first. This b-tree replaces
-- both the old (message_seq, open_user_id) key and the `inbox` index. Reads by message go through
-- the message's `recipients` list, each one a key lookup. Rows are only ever written together with
-- their message, in the same transaction, so no foreign key is checked per row.
CREATE TABLE deliveries_v3 (
    corp_id      TEXT NOT NULL,
    open_user_id TEXT NOT NULL,
    message_seq  INTEGER NOT NULL,
    delivered_at INTEGER NOT NULL,
    revoked_at   INTEGER,
    PRIMARY KEY (corp_id, open_user_id, message_seq)
) STRICT, WITHOUT ROWID;
INSERT INTO deliveries_v3 (corp_id, open_user_id, message_seq, delivered_at, revoked_at)
    SELECT corp_id, open_user_id, message_seq, delivered_at, revoked_at FROM deliveries;
DROP TABLE deliveries;
ALTER TABLE deliveries_v3 RENAME TO deliveries;
