-- A partial index whose condition compares kind with a literal made SQLite
-- re-prepare, on every run, each statement comparing kind with a bound
-- value (the planner must check whether the value satisfies the index's
-- condition): a third of what a prepared ListObjects cost. The unique
-- index on an expression keeps the rule (one live application per appId in
-- the deployment) without a condition, and a plain partial index serves
-- the lookups by appId.

-- +goose Up
DROP INDEX objects_app_id_deployment;
CREATE UNIQUE INDEX objects_app_id_deployment ON objects ((CASE WHEN kind = 'application' AND deleted_at IS NULL THEN app_id END));
CREATE INDEX objects_app_lookup ON objects (app_id) WHERE deleted_at IS NULL AND app_id IS NOT NULL;

-- +goose Down
DROP INDEX objects_app_lookup;
DROP INDEX objects_app_id_deployment;
CREATE UNIQUE INDEX objects_app_id_deployment ON objects (app_id) WHERE kind = 'application' AND deleted_at IS NULL;
