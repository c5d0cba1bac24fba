-- An idempotency key keeps only what decides a retry: the body hash (32 bytes, not 64 hex
-- characters) and the message the first call created, which a replay's response is rebuilt from
-- (message id, trace id, invalid users). Keys are inserted at random places in this b-tree (client
-- ids are random), so a row a third of the old size means a third of the page splits and dirty
-- pages per send. The app id alone scopes a key: an app belongs to exactly one corp.
CREATE TABLE idempotency_keys_v4 (
    app_id      TEXT NOT NULL,
    key         TEXT NOT NULL,
    body_hash   BLOB NOT NULL,
    message_seq INTEGER NOT NULL,
    created_at  INTEGER NOT NULL,
    PRIMARY KEY (app_id, key)
) STRICT, WITHOUT ROWID;
-- Every stored response names the message its send created.
INSERT INTO idempotency_keys_v4 (app_id, key, body_hash, message_seq, created_at)
    SELECT k.app_id, k.key, unhex(k.body_hash), m.seq, k.created_at
      FROM idempotency_keys AS k
      JOIN messages AS m
        ON m.corp_id = k.corp_id AND m.message_id = json_extract(k.response, '$.messageId');
DROP TABLE idempotency_keys;
ALTER TABLE idempotency_keys_v4 RENAME TO idempotency_keys;
