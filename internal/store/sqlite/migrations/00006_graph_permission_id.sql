-- Application.ReadWrite.All was granted under a mistyped app role id
-- (…-73c6d2cf09a6); Microsoft Graph's is …-73c46d2cc8e9, which scripts that
-- grant permissions by id use. Existing grants move to the real id.

-- +goose Up
UPDATE objects SET data = json_set(data, '$.appRoleId', '1bfefb4e-e0b5-418b-a88f-73c46d2cc8e9')
WHERE kind = 'appRoleAssignment' AND json_extract(data, '$.appRoleId') = '1bfefb4e-e0b5-418b-a88f-73c6d2cf09a6';

-- +goose Down
UPDATE objects SET data = json_set(data, '$.appRoleId', '1bfefb4e-e0b5-418b-a88f-73c6d2cf09a6')
WHERE kind = 'appRoleAssignment' AND json_extract(data, '$.appRoleId') = '1bfefb4e-e0b5-418b-a88f-73c46d2cc8e9';
