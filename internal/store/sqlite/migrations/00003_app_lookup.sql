-- Applications are found by appId across tenants, for multitenant sign-in
-- (store.Tx.LookupApplication). appIds are GUIDs made by the directory.

-- +goose Up
CREATE INDEX objects_app_lookup ON objects (kind, app_id) WHERE deleted_at IS NULL AND app_id IS NOT NULL;

-- +goose Down
DROP INDEX objects_app_lookup;
