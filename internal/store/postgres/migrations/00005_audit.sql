-- Directory audit and sign-in logs (store.Tx.AppendAudit): Graph documents
-- with typed columns for what their filters name often. They are no
-- directory changes, so nothing here touches tenants.seq or changes.

-- +goose Up
CREATE TABLE audit_records (
    tenant_id  text COLLATE "C" NOT NULL REFERENCES tenants (id) ON DELETE CASCADE,
    log        text COLLATE "C" NOT NULL,    -- directoryAudit | signIn
    id         text COLLATE "C" NOT NULL,
    created_at timestamptz NOT NULL,         -- activityDateTime | createdDateTime
    category   text COLLATE "C" NOT NULL DEFAULT '', -- lower-case
    activity   text COLLATE "C" NOT NULL DEFAULT '', -- lower-case
    user_id    text COLLATE "C",             -- initiatedBy/user/id | userId
    app_id     text COLLATE "C",             -- initiatedBy/app/appId | appId
    upn        text COLLATE "C",             -- lower-case userPrincipalName
    result     text COLLATE "C" NOT NULL DEFAULT '',
    error_code integer NOT NULL DEFAULT 0,
    data       jsonb NOT NULL CHECK (jsonb_typeof(data) = 'object'),
    PRIMARY KEY (tenant_id, id)
);
CREATE INDEX audit_time ON audit_records (tenant_id, log, created_at, id);
CREATE INDEX audit_activity ON audit_records (tenant_id, log, activity, created_at);
CREATE INDEX audit_category ON audit_records (tenant_id, log, category, created_at);
CREATE INDEX audit_user ON audit_records (tenant_id, log, user_id, created_at);
CREATE INDEX audit_app ON audit_records (tenant_id, log, app_id, created_at);
CREATE INDEX audit_upn ON audit_records (tenant_id, log, upn, created_at);
CREATE INDEX audit_age ON audit_records (created_at);

-- +goose Down
DROP TABLE audit_records;
