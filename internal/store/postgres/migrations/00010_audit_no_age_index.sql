-- Every record paid for an index on its age alone, across tenants, that
-- only the hourly purge read; the purge now reads each tenant's logs
-- through audit_time (PurgeAuditRecords).

-- +goose Up
DROP INDEX audit_age;

-- +goose Down
CREATE INDEX audit_age ON audit_records (created_at);
