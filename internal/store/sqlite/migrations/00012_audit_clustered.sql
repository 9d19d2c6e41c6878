-- A sign-in record still touched five B-trees: the table, its primary
-- key's index, the time and application indexes, and the age index the
-- purge used. The table is now its primary key (WITHOUT ROWID): a record
-- is one entry in one B-tree, in the order of its tenant and time-ordered
-- id. The purge reads each tenant's logs through audit_time instead of a
-- deployment-wide age index (PurgeAuditRecords). Records are a few hundred
-- bytes (sign-ins store what varies), well under what a page keeps inline.

-- +goose Up
CREATE TABLE audit_records_v3 (
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

-- +goose Down
CREATE TABLE audit_records_v2 (
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
) STRICT;
INSERT INTO audit_records_v2 SELECT * FROM audit_records;
DROP TABLE audit_records;
ALTER TABLE audit_records_v2 RENAME TO audit_records;
CREATE INDEX audit_time ON audit_records (tenant_id, log, created_at, id);
CREATE INDEX audit_activity ON audit_records (tenant_id, log, activity, created_at) WHERE activity IS NOT NULL;
CREATE INDEX audit_category ON audit_records (tenant_id, log, category, created_at) WHERE category IS NOT NULL;
CREATE INDEX audit_user ON audit_records (tenant_id, log, user_id, created_at) WHERE user_id IS NOT NULL;
CREATE INDEX audit_app ON audit_records (tenant_id, log, app_id, created_at) WHERE app_id IS NOT NULL;
CREATE INDEX audit_upn ON audit_records (tenant_id, log, upn, created_at) WHERE upn IS NOT NULL;
CREATE INDEX audit_age ON audit_records (created_at);
