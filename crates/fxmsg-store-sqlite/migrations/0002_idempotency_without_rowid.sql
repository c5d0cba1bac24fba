-- Idempotency keys are only ever looked up by their primary key: store them in that b-tree alone
-- (WITHOUT ROWID) instead of a rowid table plus a separate key index, one b-tree insert per send.
CREATE TABLE idempotency_keys_v2 (
    corp_id    TEXT NOT NULL,
    app_id     TEXT NOT NULL,
    key        TEXT NOT NULL,
    body_hash  TEXT NOT NULL,
    response   TEXT NOT NULL,
    created_at INTEGER NOT NULL,
    PRIMARY KEY (corp_id, app_id, key)
) STRICT, WITHOUT ROWID;
INSERT INTO idempotency_keys_v2 SELECT corp_id, app_id, key, body_hash, response, created_at FROM idempotency_keys;
DROP TABLE idempotency_keys;
ALTER TABLE idempotency_keys_v2 RENAME TO idempotency_keys;
