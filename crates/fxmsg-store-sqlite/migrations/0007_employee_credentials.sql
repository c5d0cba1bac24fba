-- Employees' own credentials: API tokens, one-time login links and the web sessions made from
-- them. Only a SHA-256 of each secret is kept; `credential_id` names one to list or revoke it.
CREATE TABLE employee_credentials (
    credential_id TEXT PRIMARY KEY,
    secret_hash   TEXT NOT NULL UNIQUE,
    kind          TEXT NOT NULL,
    corp_id       TEXT NOT NULL,
    open_user_id  TEXT NOT NULL REFERENCES employees(open_user_id),
    created_at    INTEGER NOT NULL,
    expires_at    INTEGER,
    revoked_at    INTEGER
) STRICT;
CREATE INDEX employee_credentials_by_employee ON employee_credentials(corp_id, open_user_id);
