-- A tenant's files (uploaded logos), read and written whole; data is the
-- caller's bytes, stored verbatim and never queried.

-- +goose Up
CREATE TABLE blobs (
    tenant_id    text COLLATE "C" NOT NULL REFERENCES tenants (id) ON DELETE CASCADE,
    name         text COLLATE "C" NOT NULL,
    content_type text COLLATE "C" NOT NULL,
    data         bytea NOT NULL,
    updated_at   timestamptz NOT NULL,
    sha256       text COLLATE "C" NOT NULL,  -- hex, of data: what pages name it by
    PRIMARY KEY (tenant_id, name)
);

-- +goose Down
DROP TABLE blobs;
