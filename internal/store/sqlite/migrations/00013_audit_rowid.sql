-- The log is a rowid table again. Clustered on its key (00012), every
-- append landed in an index B-tree, which SQLite rebalances across three
-- sibling pages and leaves partly empty; a rowid table appends to its last
-- page and fills it. Measured with batches of sign-ins of a few hundred
-- bytes: 1.5 µs less a record, with the key's index as a fourth B-tree.

-- +goose Up
CREATE TABLE audit_records_v4 (
    tenant_id  TEXT NOT NULL REFERENCES tenants (id) ON DELETE CASCADE,
    log        TEXT NOT NULL,                -- directoryAudit | signIn
    id         TEXT NOT NULL,
    created_at TEXT NOT NULL,                -- activityDateTime | createdDateTime
    category   TEXT,                         -- lower-case
    activity   TEXT,                         -- lower-case
    user_id    TEXT,                         -- initiatedBy/user/id | userId
    app_id     TEXT,                         -- initiatedBy/app/appId | appId
    upn        TEXT,                         -- lower-case userPrincipalName
    result     TEXT NOT NULL DEFAULT '',
    error_code INTEGER NOT NULL DEFAULT 0,
    data       TEXT NOT NULL,
    PRIMARY KEY (tenant_id, id)
) STRICT;
INSERT INTO audit_records_v4 SELECT * FROM audit_records ORDER BY created_at;
DROP TABLE audit_records;
ALTER TABLE audit_records_v4 RENAME TO audit_records;
CREATE INDEX audit_time ON audit_records (tenant_id, log, created_at, id);
CREATE INDEX audit_activity ON audit_records (tenant_id, log, activity, created_at) WHERE activity IS NOT NULL;
CREATE INDEX audit_category ON audit_records (tenant_id, log, category, created_at) WHERE category IS NOT NULL;
CREATE INDEX audit_user ON audit_records (tenant_id, log, user_id, created_at) WHERE user_id IS NOT NULL;
CREATE INDEX audit_app ON audit_records (tenant_id, log, app_id, created_at) WHERE app_id IS NOT NULL;
CREATE INDEX audit_upn ON audit_records (tenant_id, log, upn, created_at) WHERE upn IS NOT NULL;

-- +goose Down
CREATE TABLE audit_records_v3 (
    tenant_id  TEXT NOT NULL REFERENCES tenants (id) ON DELETE CASCADE,
    log        TEXT NOT NULL,
    id         TEXT NOT NULL,
    created_at TEXT NOT NULL,
    category   TEXT,
    activity   TEXT,
    user_id    TEXT,
    app_id     TEXT,
    upn        TEXT,
    result     TEXT NOT NULL DEFAULT '',
    error_code INTEGER NOT NULL DEFAULT 0,
    data       TEXT NOT NULL,
    PRIMARY KEY (tenant_id, id)
) STRICT, WITHOUT ROWID;
INSERT INTO audit_records_v3 SELECT * FROM audit_records;
DROP TABLE audit_records;
ALTER TABLE audit_records_v3 RENAME TO audit_records;
CREATE INDEX audit_time ON audit_records (tenant_id, log, created_at, id);
CREATE INDEX audit_activity ON audit_records (tenant_id, log, activity, created_at) WHERE activity IS NOT NULL;
CREATE INDEX audit_category ON audit_records (tenant_id, log, category, created_at) WHERE category IS NOT NULL;
CREATE INDEX audit_user ON audit_records (tenant_id, log, user_id, created_at) WHERE user_id IS NOT NULL;
CREATE INDEX audit_app ON audit_records (tenant_id, log, app_id, created_at) WHERE app_id IS NOT NULL;
CREATE INDEX audit_upn ON audit_records (tenant_id, log, upn, created_at) WHERE upn IS NOT NULL;
