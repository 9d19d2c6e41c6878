-- Short-lived protocol state (authorization requests and codes, refresh
-- tokens, device codes, sign-in sessions, lockout counters). data is the
-- caller's bytes, stored verbatim and never queried.

-- +goose Up
CREATE TABLE states (
    tenant_id   TEXT NOT NULL REFERENCES tenants (id) ON DELETE CASCADE,
    kind        TEXT NOT NULL,
    id          TEXT NOT NULL,
    family      TEXT NOT NULL DEFAULT '',
    subject     TEXT NOT NULL DEFAULT '',
    data        BLOB NOT NULL,
    created_at  TEXT NOT NULL,
    expires_at  TEXT NOT NULL,
    consumed_at TEXT,
    PRIMARY KEY (tenant_id, kind, id)
) STRICT;
CREATE INDEX states_family ON states (tenant_id, family);
CREATE INDEX states_subject ON states (tenant_id, subject);
CREATE INDEX states_expires ON states (expires_at);

-- +goose Down
DROP TABLE states;
