-- Looking a user up by mail (an invitation, a guest's passcode) filters on
-- mail and pages by id. Without id in the mail index SQLite's planner
-- walked objects_kind in id order instead, reading every user of the
-- tenant; with it the index serves both the filter and the order.

-- +goose Up
DROP INDEX objects_mail;
CREATE INDEX objects_mail ON objects (tenant_id, kind, mail, id) WHERE deleted_at IS NULL;

-- +goose Down
DROP INDEX objects_mail;
CREATE INDEX objects_mail ON objects (tenant_id, kind, mail) WHERE deleted_at IS NULL;
