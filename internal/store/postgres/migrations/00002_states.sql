-- Short-lived protocol state (authorization requests and codes, refresh
-- tokens, device codes, sign-in sessions, lockout counters). data is the
-- caller's bytes, stored verbatim and never queried.

-- +goose Up
CREATE TABLE states (
    tenant_id   text COLLATE "C" NOT NULL REFERENCES tenants (id) ON DELETE CASCADE,
    kind        text COLLATE "C" NOT NULL,
    id          text COLLATE "C" NOT NULL,
    family      text COLLATE "C" NOT NULL DEFAULT '',
    subject     text COLLATE "C" NOT NULL DEFAULT '',
    data        bytea NOT NULL,
    created_at  timestamptz NOT NULL,
    expires_at  timestamptz NOT NULL,
    consumed_at timestamptz,
    PRIMARY KEY (tenant_id, kind, id)
);
CREATE INDEX states_family ON states (tenant_id, family);
CREATE INDEX states_subject ON states (tenant_id, subject);
CREATE INDEX states_expires ON states (expires_at);

-- +goose Down
DROP TABLE states;
