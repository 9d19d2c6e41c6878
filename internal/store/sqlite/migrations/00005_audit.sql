-- Directory audit and sign-in logs (store.Tx.AppendAudit): Graph documents
-- with typed columns for what their filters name often. They are no
-- directory changes, so nothing here touches tenants.seq or changes.

-- +goose Up
CREATE TABLE audit_records (
    tenant_id  TEXT NOT NULL REFERENCES tenants (id) ON DELETE CASCADE,
    log        TEXT NOT NULL,                -- directoryAudit | signIn
    id         TEXT NOT NULL,
    created_at TEXT NOT NULL,                -- activityDateTime | createdDateTime
    category   TEXT NOT NULL DEFAULT '',     -- lower-case
    activity   TEXT NOT NULL DEFAULT '',     -- lower-case
    user_id    TEXT,                         -- initiatedBy/user/id | userId
    app_id     TEXT,                         -- initiatedBy/app/appId | appId
    upn        TEXT,                         -- lower-case userPrincipalName
    result     TEXT NOT NULL DEFAULT '',
    error_code INTEGER NOT NULL DEFAULT 0,
    data       TEXT NOT NULL CHECK (json_valid(data) AND json_type(data) = 'object'),
    PRIMARY KEY (tenant_id, id)
) STRICT;
CREATE INDEX audit_time ON audit_records (tenant_id, log, created_at, id);
CREATE INDEX audit_activity ON audit_records (tenant_id, log, activity, created_at);
CREATE INDEX audit_category ON audit_records (tenant_id, log, category, created_at);
CREATE INDEX audit_user ON audit_records (tenant_id, log, user_id, created_at);
CREATE INDEX audit_app ON audit_records (tenant_id, log, app_id, created_at);
CREATE INDEX audit_upn ON audit_records (tenant_id, log, upn, created_at);
CREATE INDEX audit_age ON audit_records (created_at);

-- +goose Down
DROP TABLE audit_records;
