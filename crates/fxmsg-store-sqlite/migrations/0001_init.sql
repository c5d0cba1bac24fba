-- fxmsg schema v1. Times are unix milliseconds. Secrets are stored as SHA-256 hex only.

CREATE TABLE meta (
    key   TEXT PRIMARY KEY,
    value TEXT NOT NULL
) STRICT;

CREATE TABLE corps (
    corp_id    TEXT PRIMARY KEY,
    ea         TEXT NOT NULL UNIQUE,
    name       TEXT NOT NULL,
    created_at INTEGER NOT NULL
) STRICT;

CREATE TABLE apps (
    app_id              TEXT PRIMARY KEY,
    corp_id             TEXT NOT NULL REFERENCES corps(corp_id),
    name                TEXT NOT NULL,
    enabled             INTEGER NOT NULL,
    secret_hash         TEXT NOT NULL,
    permanent_code_hash TEXT NOT NULL,
    created_at          INTEGER NOT NULL
) STRICT;
CREATE INDEX apps_by_corp ON apps(corp_id);

CREATE TABLE employees (
    open_user_id TEXT PRIMARY KEY,
    corp_id      TEXT NOT NULL REFERENCES corps(corp_id),
    user_id      TEXT NOT NULL,
    name         TEXT NOT NULL,
    status       TEXT NOT NULL CHECK (status IN ('active', 'stopped')),
    created_at   INTEGER NOT NULL,
    UNIQUE (corp_id, user_id)
) STRICT;

CREATE TABLE service_accounts (
    service_id TEXT PRIMARY KEY,
    corp_id    TEXT NOT NULL REFERENCES corps(corp_id),
    name       TEXT NOT NULL,
    created_at INTEGER NOT NULL
) STRICT;
CREATE INDEX service_accounts_by_corp ON service_accounts(corp_id);

CREATE TABLE tokens (
    token_hash TEXT PRIMARY KEY,
    kind       TEXT NOT NULL,
    nonce      TEXT NOT NULL,
    app_id     TEXT NOT NULL REFERENCES apps(app_id),
    corp_id    TEXT NOT NULL REFERENCES corps(corp_id),
    issued_at  INTEGER NOT NULL,
    expires_at INTEGER NOT NULL
) STRICT;
CREATE INDEX tokens_newest ON tokens(kind, app_id, corp_id, issued_at);

-- seq orders listings and is the cursor; message_id is the public id.
CREATE TABLE messages (
    seq            INTEGER PRIMARY KEY AUTOINCREMENT,
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
CREATE INDEX messages_by_corp ON messages(corp_id, seq);

CREATE TABLE deliveries (
    message_seq  INTEGER NOT NULL REFERENCES messages(seq),
    corp_id      TEXT NOT NULL,
    open_user_id TEXT NOT NULL,
    delivered_at INTEGER NOT NULL,
    revoked_at   INTEGER,
    PRIMARY KEY (message_seq, open_user_id)
) STRICT, WITHOUT ROWID;
CREATE INDEX inbox ON deliveries(corp_id, open_user_id, message_seq);

CREATE TABLE idempotency_keys (
    corp_id    TEXT NOT NULL,
    app_id     TEXT NOT NULL,
    key        TEXT NOT NULL,
    body_hash  TEXT NOT NULL,
    response   TEXT NOT NULL,
    created_at INTEGER NOT NULL,
    PRIMARY KEY (corp_id, app_id, key)
) STRICT;

CREATE TABLE media (
    media_id     TEXT PRIMARY KEY,
    corp_id      TEXT NOT NULL REFERENCES corps(corp_id),
    app_id       TEXT NOT NULL,
    kind         TEXT NOT NULL CHECK (kind IN ('image', 'document')),
    content_type TEXT NOT NULL,
    file_name    TEXT NOT NULL,
    size         INTEGER NOT NULL,
    object_key   TEXT NOT NULL,
    created_at   INTEGER NOT NULL,
    deleted_at   INTEGER
) STRICT;
