-- fxmsg on PostgreSQL: the same records as the SQLite backend, with the counters that several
-- nodes share kept in rows (event_heads) instead of a writer's memory.

CREATE TABLE meta (
    key   TEXT PRIMARY KEY,
    value TEXT NOT NULL
);

CREATE TABLE corps (
    corp_id    TEXT PRIMARY KEY,
    ea         TEXT NOT NULL UNIQUE,
    name       TEXT NOT NULL,
    created_at BIGINT NOT NULL,
    sandbox    BOOLEAN NOT NULL DEFAULT FALSE
);

CREATE TABLE apps (
    app_id              TEXT PRIMARY KEY,
    corp_id             TEXT NOT NULL REFERENCES corps(corp_id),
    name                TEXT NOT NULL,
    enabled             BOOLEAN NOT NULL,
    secret_hash         TEXT NOT NULL,
    permanent_code_hash TEXT NOT NULL,
    created_at          BIGINT NOT NULL
);
CREATE INDEX apps_by_corp ON apps(corp_id);

CREATE TABLE employees (
    open_user_id       TEXT PRIMARY KEY,
    corp_id            TEXT NOT NULL REFERENCES corps(corp_id),
    user_id            TEXT NOT NULL,
    name               TEXT NOT NULL,
    status             TEXT NOT NULL CHECK (status IN ('active', 'stopped')),
    mobile             TEXT,
    account            TEXT,
    nick_name          TEXT,
    email              TEXT,
    gender             TEXT,
    position           TEXT,
    leader_id          TEXT,
    main_department_id BIGINT NOT NULL DEFAULT 0,
    department_ids     BIGINT[] NOT NULL DEFAULT '{0}',
    created_at         BIGINT NOT NULL,
    UNIQUE (corp_id, user_id)
);
CREATE INDEX employees_by_mobile ON employees(corp_id, mobile);

CREATE TABLE departments (
    corp_id       TEXT NOT NULL REFERENCES corps(corp_id),
    department_id BIGINT NOT NULL CHECK (department_id > 0),
    name          TEXT NOT NULL,
    parent_id     BIGINT NOT NULL CHECK (parent_id >= 0),
    ord           BIGINT NOT NULL,
    stopped       BOOLEAN NOT NULL,
    principal_id  TEXT,
    created_at    BIGINT NOT NULL,
    PRIMARY KEY (corp_id, department_id)
);

CREATE TABLE service_accounts (
    service_id TEXT PRIMARY KEY,
    corp_id    TEXT NOT NULL REFERENCES corps(corp_id),
    name       TEXT NOT NULL,
    created_at BIGINT NOT NULL
);
CREATE INDEX service_accounts_by_corp ON service_accounts(corp_id);

CREATE TABLE tokens (
    token_hash TEXT PRIMARY KEY,
    kind       TEXT NOT NULL,
    nonce      TEXT NOT NULL,
    app_id     TEXT NOT NULL REFERENCES apps(app_id),
    corp_id    TEXT NOT NULL REFERENCES corps(corp_id),
    issued_at  BIGINT NOT NULL,
    expires_at BIGINT NOT NULL
);
CREATE INDEX tokens_newest ON tokens(kind, app_id, corp_id, issued_at);
CREATE INDEX tokens_by_corp ON tokens(corp_id);
CREATE INDEX tokens_by_app_expiry ON tokens(app_id, expires_at);

CREATE TABLE media (
    media_id     TEXT PRIMARY KEY,
    corp_id      TEXT NOT NULL REFERENCES corps(corp_id),
    app_id       TEXT NOT NULL,
    kind         TEXT NOT NULL CHECK (kind IN ('image', 'document')),
    content_type TEXT NOT NULL,
    file_name    TEXT NOT NULL,
    size         BIGINT NOT NULL,
    object_key   TEXT NOT NULL,
    created_at   BIGINT NOT NULL,
    deleted_at   BIGINT
);
CREATE INDEX media_by_corp ON media(corp_id);
CREATE INDEX media_live_by_age ON media(created_at) WHERE deleted_at IS NULL;

-- `seq` names a message inside the database (inbox rows, events and keys refer to it); `pos` is
-- its place in commit order, the number listings page by and waits resume from. It is the
-- global number of the message's own event, taken under the event lock at the end of the
-- sending transaction, so positions never appear out of order to a reader. It is NULL only
-- inside that transaction, which no other reads.
CREATE TABLE messages (
    seq            BIGINT GENERATED ALWAYS AS IDENTITY PRIMARY KEY,
    pos            BIGINT UNIQUE,
    message_id     TEXT NOT NULL UNIQUE,
    corp_id        TEXT NOT NULL REFERENCES corps(corp_id),
    app_id         TEXT NOT NULL REFERENCES apps(app_id),
    service_id     TEXT,
    msg_type       TEXT NOT NULL,
    content        TEXT NOT NULL,
    recipients     TEXT[] NOT NULL,
    invalid_users  TEXT[] NOT NULL,
    raw_request    TEXT NOT NULL,
    third_trace_id TEXT,
    trace_id       TEXT NOT NULL,
    created_at     BIGINT NOT NULL,
    revoked_at     BIGINT
);
CREATE INDEX messages_by_corp ON messages(corp_id, pos);

CREATE TABLE deliveries (
    corp_id      TEXT NOT NULL,
    open_user_id TEXT NOT NULL,
    message_seq  BIGINT NOT NULL,
    delivered_at BIGINT NOT NULL,
    revoked_at   BIGINT,
    read_at      BIGINT,
    PRIMARY KEY (corp_id, open_user_id, message_seq)
);
CREATE INDEX deliveries_by_message ON deliveries(message_seq);

CREATE TABLE message_media (
    message_seq BIGINT NOT NULL,
    media_id    TEXT NOT NULL,
    PRIMARY KEY (message_seq, media_id)
);
CREATE INDEX message_media_by_media ON message_media(media_id);

CREATE TABLE idempotency_keys (
    app_id      TEXT NOT NULL,
    key         TEXT NOT NULL,
    body_hash   BYTEA NOT NULL,
    message_seq BIGINT NOT NULL,
    created_at  BIGINT NOT NULL,
    PRIMARY KEY (app_id, key)
);
CREATE INDEX idempotency_keys_by_age ON idempotency_keys(created_at);

CREATE TABLE events (
    global_seq         BIGINT PRIMARY KEY,
    corp_id            TEXT NOT NULL,
    seq                BIGINT NOT NULL,
    kind               TEXT NOT NULL,
    message_seq        BIGINT NOT NULL,
    open_user_id       TEXT,
    created_at         BIGINT NOT NULL,
    -- When the message was revoked, as of this event: a replayed event shows the message as the
    -- live one did.
    message_revoked_at BIGINT
);
CREATE UNIQUE INDEX events_by_corp ON events(corp_id, seq);

-- The newest event number of each corp, and of all corps under ''. A transaction that logs an
-- event takes the '' row's lock (then its corp's) just before it commits: event numbers follow
-- commit order across every node, without gaps, and a rolled-back write takes no number.
CREATE TABLE event_heads (
    corp_id TEXT PRIMARY KEY,
    head    BIGINT NOT NULL
);
INSERT INTO event_heads (corp_id, head) VALUES ('', 0);

CREATE TABLE event_watermarks (
    corp_id        TEXT PRIMARY KEY,
    pruned_through BIGINT NOT NULL
);

CREATE TABLE employee_credentials (
    credential_id TEXT PRIMARY KEY,
    secret_hash   TEXT NOT NULL UNIQUE,
    kind          TEXT NOT NULL,
    corp_id       TEXT NOT NULL,
    open_user_id  TEXT NOT NULL REFERENCES employees(open_user_id),
    created_at    BIGINT NOT NULL,
    expires_at    BIGINT,
    revoked_at    BIGINT
);
CREATE INDEX employee_credentials_by_employee ON employee_credentials(corp_id, open_user_id);
