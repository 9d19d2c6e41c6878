-- A sign-in record touched eight B-trees, four of them for columns it
-- leaves empty (category, activity, and user and UPN of an application's
-- sign-in). Empty category and activity are now NULL, like the other unset
-- columns, and their indexes, with those of user, application and UPN,
-- leave NULL out; a filter on one of them (column = value) implies IS NOT
-- NULL, so the planner still uses them.

-- +goose Up
ALTER TABLE audit_records
    ALTER COLUMN category DROP NOT NULL, ALTER COLUMN category DROP DEFAULT,
    ALTER COLUMN activity DROP NOT NULL, ALTER COLUMN activity DROP DEFAULT;
UPDATE audit_records SET category = NULLIF(category, ''), activity = NULLIF(activity, '')
    WHERE category = '' OR activity = '';
DROP INDEX audit_activity, audit_category, audit_user, audit_app, audit_upn;
CREATE INDEX audit_activity ON audit_records (tenant_id, log, activity, created_at) WHERE activity IS NOT NULL;
CREATE INDEX audit_category ON audit_records (tenant_id, log, category, created_at) WHERE category IS NOT NULL;
CREATE INDEX audit_user ON audit_records (tenant_id, log, user_id, created_at) WHERE user_id IS NOT NULL;
CREATE INDEX audit_app ON audit_records (tenant_id, log, app_id, created_at) WHERE app_id IS NOT NULL;
CREATE INDEX audit_upn ON audit_records (tenant_id, log, upn, created_at) WHERE upn IS NOT NULL;

-- +goose Down
DROP INDEX audit_activity, audit_category, audit_user, audit_app, audit_upn;
UPDATE audit_records SET category = COALESCE(category, ''), activity = COALESCE(activity, '')
    WHERE category IS NULL OR activity IS NULL;
ALTER TABLE audit_records
    ALTER COLUMN category SET DEFAULT '', ALTER COLUMN category SET NOT NULL,
    ALTER COLUMN activity SET DEFAULT '', ALTER COLUMN activity SET NOT NULL;
CREATE INDEX audit_activity ON audit_records (tenant_id, log, activity, created_at);
CREATE INDEX audit_category ON audit_records (tenant_id, log, category, created_at);
CREATE INDEX audit_user ON audit_records (tenant_id, log, user_id, created_at);
CREATE INDEX audit_app ON audit_records (tenant_id, log, app_id, created_at);
CREATE INDEX audit_upn ON audit_records (tenant_id, log, upn, created_at);
