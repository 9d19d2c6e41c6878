-- The initial schema. Instants are UTC text with microseconds
-- (2006-01-02T15:04:05.000000Z), which sorts chronologically; JSON is TEXT;
-- lower() is the Unicode-aware function the sqlite package registers on
-- every connection.

-- +goose Up
CREATE TABLE tenants (
    id           TEXT NOT NULL PRIMARY KEY,
    display_name TEXT NOT NULL DEFAULT '',
    type         TEXT NOT NULL,
    created_at   TEXT NOT NULL,
    seq          INTEGER NOT NULL DEFAULT 0 -- the change feed's last position
) STRICT;

CREATE TABLE domains (
    name       TEXT NOT NULL PRIMARY KEY,
    tenant_id  TEXT NOT NULL REFERENCES tenants (id) ON DELETE CASCADE,
    verified   INTEGER NOT NULL,
    is_initial INTEGER NOT NULL,
    is_default INTEGER NOT NULL,
    created_at TEXT NOT NULL
) STRICT;
CREATE INDEX domains_tenant ON domains (tenant_id, name);

CREATE TABLE objects (
    tenant_id    TEXT NOT NULL REFERENCES tenants (id) ON DELETE CASCADE,
    id           TEXT NOT NULL,
    kind         TEXT NOT NULL,
    version      INTEGER NOT NULL,
    created_at   TEXT NOT NULL,
    updated_at   TEXT NOT NULL,
    deleted_at   TEXT,
    upn          TEXT,                       -- NULL when unset
    mail         TEXT NOT NULL DEFAULT '',
    app_id       TEXT,                       -- NULL when unset
    display_name TEXT NOT NULL DEFAULT '',
    data         TEXT NOT NULL CHECK (json_valid(data) AND json_type(data) = 'object'),
    PRIMARY KEY (tenant_id, id)
) STRICT;
CREATE UNIQUE INDEX objects_upn ON objects (tenant_id, kind, upn) WHERE deleted_at IS NULL;
CREATE UNIQUE INDEX objects_app_id ON objects (tenant_id, kind, app_id) WHERE deleted_at IS NULL;
CREATE INDEX objects_kind ON objects (tenant_id, kind, id) WHERE deleted_at IS NULL;
CREATE INDEX objects_display_name ON objects (tenant_id, kind, lower(display_name), id) WHERE deleted_at IS NULL;
CREATE INDEX objects_mail ON objects (tenant_id, kind, mail) WHERE deleted_at IS NULL;
CREATE INDEX objects_created ON objects (tenant_id, kind, created_at, id) WHERE deleted_at IS NULL;

CREATE TABLE links (
    tenant_id TEXT NOT NULL,
    source_id TEXT NOT NULL,
    rel       TEXT NOT NULL,
    target_id TEXT NOT NULL,
    PRIMARY KEY (tenant_id, source_id, rel, target_id),
    FOREIGN KEY (tenant_id, source_id) REFERENCES objects (tenant_id, id) ON DELETE CASCADE,
    FOREIGN KEY (tenant_id, target_id) REFERENCES objects (tenant_id, id) ON DELETE CASCADE
) STRICT, WITHOUT ROWID;
CREATE INDEX links_reverse ON links (tenant_id, target_id, rel, source_id);

CREATE TABLE changes (
    tenant_id TEXT NOT NULL,
    seq       INTEGER NOT NULL,
    kind      TEXT NOT NULL,
    object_id TEXT NOT NULL,
    op        TEXT NOT NULL,
    version   INTEGER NOT NULL,
    rel       TEXT NOT NULL DEFAULT '',
    target_id TEXT NOT NULL DEFAULT '',
    at        TEXT NOT NULL,
    PRIMARY KEY (tenant_id, seq)
) STRICT, WITHOUT ROWID;

CREATE TABLE outbox (
    id          TEXT NOT NULL PRIMARY KEY,
    tenant_id   TEXT NOT NULL DEFAULT '',
    topic       TEXT NOT NULL,
    payload     BLOB NOT NULL,
    created_at  TEXT NOT NULL,
    not_before  TEXT NOT NULL,
    attempts    INTEGER NOT NULL DEFAULT 0,
    last_error  TEXT NOT NULL DEFAULT '',
    lease_until TEXT
) STRICT;
CREATE INDEX outbox_due ON outbox (topic, not_before, id);

CREATE TABLE credentials (
    tenant_id    TEXT NOT NULL,
    object_id    TEXT NOT NULL,
    key_id       TEXT NOT NULL,
    type         TEXT NOT NULL,
    hash         BLOB NOT NULL,
    hint         TEXT NOT NULL DEFAULT '',
    display_name TEXT NOT NULL DEFAULT '',
    start_at     TEXT,
    end_at       TEXT,
    created_at   TEXT NOT NULL,
    PRIMARY KEY (tenant_id, object_id, key_id),
    FOREIGN KEY (tenant_id, object_id) REFERENCES objects (tenant_id, id) ON DELETE CASCADE
) STRICT;

CREATE TABLE signing_keys (
    tenant_id      TEXT NOT NULL REFERENCES tenants (id) ON DELETE CASCADE,
    kid            TEXT NOT NULL,
    alg            TEXT NOT NULL,
    public_jwk     TEXT NOT NULL,
    private_sealed BLOB NOT NULL,
    created_at     TEXT NOT NULL,
    active_at      TEXT,
    retire_at      TEXT,
    PRIMARY KEY (tenant_id, kid)
) STRICT;

-- +goose Down
DROP TABLE signing_keys;
DROP TABLE credentials;
DROP TABLE outbox;
DROP TABLE changes;
DROP TABLE links;
DROP TABLE objects;
DROP TABLE domains;
DROP TABLE tenants;
