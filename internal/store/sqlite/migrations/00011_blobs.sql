-- A tenant's files (uploaded logos), read and written whole; data is the
-- caller's bytes, stored verbatim and never queried.

-- +goose Up
CREATE TABLE blobs (
    tenant_id    TEXT NOT NULL REFERENCES tenants (id) ON DELETE CASCADE,
    name         TEXT NOT NULL,
    content_type TEXT NOT NULL,
    data         BLOB NOT NULL,
    updated_at   TEXT NOT NULL,
    sha256       TEXT NOT NULL,              -- hex, of data: what pages name it by
    PRIMARY KEY (tenant_id, name)
) STRICT;

-- +goose Down
DROP TABLE blobs;
