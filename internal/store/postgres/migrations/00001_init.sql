-- The initial schema. Key columns are collated "C" so that they compare and
-- sort byte-wise, as SQLite does; display_name keeps the database collation
-- so that lower() folds Unicode, and its sort key is collated "C".

-- +goose Up
CREATE TABLE tenants (
    id           text COLLATE "C" NOT NULL PRIMARY KEY,
    display_name text NOT NULL DEFAULT '',
    type         text NOT NULL,
    created_at   timestamptz NOT NULL,
    seq          bigint NOT NULL DEFAULT 0 -- the change feed's last position
);

CREATE TABLE domains (
    name       text COLLATE "C" NOT NULL PRIMARY KEY,
    tenant_id  text COLLATE "C" NOT NULL REFERENCES tenants (id) ON DELETE CASCADE,
    verified   boolean NOT NULL,
    is_initial boolean NOT NULL,
    is_default boolean NOT NULL,
    created_at timestamptz NOT NULL
);
CREATE INDEX domains_tenant ON domains (tenant_id, name);

CREATE TABLE objects (
    tenant_id    text COLLATE "C" NOT NULL REFERENCES tenants (id) ON DELETE CASCADE,
    id           text COLLATE "C" NOT NULL,
    kind         text COLLATE "C" NOT NULL,
    version      bigint NOT NULL,
    created_at   timestamptz NOT NULL,
    updated_at   timestamptz NOT NULL,
    deleted_at   timestamptz,
    upn          text COLLATE "C",           -- NULL when unset
    mail         text COLLATE "C" NOT NULL DEFAULT '',
    app_id       text COLLATE "C",           -- NULL when unset
    display_name text NOT NULL DEFAULT '',
    data         jsonb NOT NULL CHECK (jsonb_typeof(data) = 'object'),
    PRIMARY KEY (tenant_id, id)
);
CREATE UNIQUE INDEX objects_upn ON objects (tenant_id, kind, upn) WHERE deleted_at IS NULL;
CREATE UNIQUE INDEX objects_app_id ON objects (tenant_id, kind, app_id) WHERE deleted_at IS NULL;
CREATE INDEX objects_kind ON objects (tenant_id, kind, id) WHERE deleted_at IS NULL;
CREATE INDEX objects_display_name ON objects (tenant_id, kind, (lower(display_name) COLLATE "C"), id) WHERE deleted_at IS NULL;
CREATE INDEX objects_mail ON objects (tenant_id, kind, mail) WHERE deleted_at IS NULL;
CREATE INDEX objects_created ON objects (tenant_id, kind, created_at, id) WHERE deleted_at IS NULL;

CREATE TABLE links (
    tenant_id text COLLATE "C" NOT NULL,
    source_id text COLLATE "C" NOT NULL,
    rel       text COLLATE "C" NOT NULL,
    target_id text COLLATE "C" NOT NULL,
    PRIMARY KEY (tenant_id, source_id, rel, target_id),
    FOREIGN KEY (tenant_id, source_id) REFERENCES objects (tenant_id, id) ON DELETE CASCADE,
    FOREIGN KEY (tenant_id, target_id) REFERENCES objects (tenant_id, id) ON DELETE CASCADE
);
CREATE INDEX links_reverse ON links (tenant_id, target_id, rel, source_id);

CREATE TABLE changes (
    tenant_id text COLLATE "C" NOT NULL,
    seq       bigint NOT NULL,
    kind      text COLLATE "C" NOT NULL,
    object_id text COLLATE "C" NOT NULL,
    op        text NOT NULL,
    version   bigint NOT NULL,
    rel       text NOT NULL DEFAULT '',
    target_id text NOT NULL DEFAULT '',
    at        timestamptz NOT NULL,
    PRIMARY KEY (tenant_id, seq)
);

CREATE TABLE outbox (
    id          text COLLATE "C" NOT NULL PRIMARY KEY,
    tenant_id   text COLLATE "C" NOT NULL DEFAULT '',
    topic       text COLLATE "C" NOT NULL,
    payload     bytea NOT NULL,
    created_at  timestamptz NOT NULL,
    not_before  timestamptz NOT NULL,
    attempts    integer NOT NULL DEFAULT 0,
    last_error  text NOT NULL DEFAULT '',
    lease_until timestamptz
);
CREATE INDEX outbox_due ON outbox (topic, not_before, id);

CREATE TABLE credentials (
    tenant_id    text COLLATE "C" NOT NULL,
    object_id    text COLLATE "C" NOT NULL,
    key_id       text COLLATE "C" NOT NULL,
    type         text NOT NULL,
    hash         bytea NOT NULL,
    hint         text NOT NULL DEFAULT '',
    display_name text NOT NULL DEFAULT '',
    start_at     timestamptz,
    end_at       timestamptz,
    created_at   timestamptz NOT NULL,
    PRIMARY KEY (tenant_id, object_id, key_id),
    FOREIGN KEY (tenant_id, object_id) REFERENCES objects (tenant_id, id) ON DELETE CASCADE
);

CREATE TABLE signing_keys (
    tenant_id      text COLLATE "C" NOT NULL REFERENCES tenants (id) ON DELETE CASCADE,
    kid            text COLLATE "C" NOT NULL,
    alg            text NOT NULL,
    public_jwk     text NOT NULL,          -- verbatim, as published
    private_sealed bytea NOT NULL,
    created_at     timestamptz NOT NULL,
    active_at      timestamptz,
    retire_at      timestamptz,
    PRIMARY KEY (tenant_id, kid)
);

-- Filters compare document date-times through this function, which yields
-- NULL for text that is not a date-time instead of failing the query.
-- +goose StatementBegin
CREATE FUNCTION gatehouse_timestamptz(v text) RETURNS timestamptz
LANGUAGE plpgsql STABLE AS $$
BEGIN
    RETURN v::timestamptz;
EXCEPTION WHEN others THEN
    RETURN NULL;
END;
$$;
-- +goose StatementEnd

-- +goose Down
DROP FUNCTION gatehouse_timestamptz(text);
DROP TABLE signing_keys;
DROP TABLE credentials;
DROP TABLE outbox;
DROP TABLE changes;
DROP TABLE links;
DROP TABLE objects;
DROP TABLE domains;
DROP TABLE tenants;
