-- First-party applications (the CLI, Microsoft Graph) are the deployment's,
-- defined in internal/directory/firstparty.go; every tenant keeps only their
-- service principals. Until now each tenant held an editable copy of the
-- CLI's registration under the same appId, and signing in through
-- /organizations found whichever copy came first. Those copies go, and an
-- application's appId and identifierUris become unique in the deployment.
-- Every live object changed here is written to its tenant's change feed, so
-- delta clients see it.

-- +goose Up
CREATE TEMP TABLE first_party_fix AS
SELECT tenant_id, id, kind, version + 1 AS version,
       CASE kind WHEN 'application' THEN 'deleted' ELSE 'updated' END AS op
FROM objects
WHERE deleted_at IS NULL AND (
      (kind = 'application' AND app_id = '6c1f8d2a-3b7e-4f0a-9d55-7a1e2c9b4f10')
   OR (kind = 'servicePrincipal' AND app_id IN ('6c1f8d2a-3b7e-4f0a-9d55-7a1e2c9b4f10', '00000003-0000-0000-c000-000000000000')));

INSERT INTO changes (tenant_id, seq, kind, object_id, op, version, at)
SELECT f.tenant_id, t.seq + ROW_NUMBER() OVER (PARTITION BY f.tenant_id ORDER BY f.id), f.kind, f.id, f.op, f.version,
       strftime('%Y-%m-%dT%H:%M:%S', 'now') || '.000000Z'
FROM first_party_fix f JOIN tenants t ON t.id = f.tenant_id;

UPDATE tenants SET seq = seq + (SELECT COUNT(*) FROM first_party_fix f WHERE f.tenant_id = tenants.id)
WHERE id IN (SELECT tenant_id FROM first_party_fix);

DROP TABLE first_party_fix;

-- The tenants' copies of the CLI go for good, deleted ones too so that none
-- can be restored, with their secrets and owners.
DELETE FROM credentials WHERE (tenant_id, object_id) IN
    (SELECT tenant_id, id FROM objects WHERE kind = 'application' AND app_id = '6c1f8d2a-3b7e-4f0a-9d55-7a1e2c9b4f10');
DELETE FROM links WHERE (tenant_id, source_id) IN
    (SELECT tenant_id, id FROM objects WHERE kind = 'application' AND app_id = '6c1f8d2a-3b7e-4f0a-9d55-7a1e2c9b4f10');
DELETE FROM objects WHERE kind = 'application' AND app_id = '6c1f8d2a-3b7e-4f0a-9d55-7a1e2c9b4f10';

-- The principals name the deployment as their owner and mirror the
-- deployment's registration, not what a tenant made of its copy.
UPDATE objects SET version = version + 1, updated_at = strftime('%Y-%m-%dT%H:%M:%S', 'now') || '.000000Z',
    data = json_patch(data, '{"appOwnerOrganizationId": "f8cdef31-a31e-4b4a-93e4-5f571e91255a"}')
WHERE kind = 'servicePrincipal' AND app_id = '00000003-0000-0000-c000-000000000000';
UPDATE objects SET version = version + 1, updated_at = strftime('%Y-%m-%dT%H:%M:%S', 'now') || '.000000Z',
    data = json_patch(data, '{"appOwnerOrganizationId": "f8cdef31-a31e-4b4a-93e4-5f571e91255a", "appDisplayName": "Gatehouse CLI",
        "appRoles": [], "replyUrls": ["http://localhost"], "servicePrincipalNames": ["6c1f8d2a-3b7e-4f0a-9d55-7a1e2c9b4f10"],
        "signInAudience": "AzureADMultipleOrgs"}')
WHERE kind = 'servicePrincipal' AND app_id = '6c1f8d2a-3b7e-4f0a-9d55-7a1e2c9b4f10';

-- An appId names one live application in the deployment; this index also
-- serves store.Tx.LookupApplication.
DROP INDEX objects_app_lookup;
CREATE UNIQUE INDEX objects_app_id_deployment ON objects (app_id) WHERE kind = 'application' AND deleted_at IS NULL;

-- The identifier URIs each application holds (folded), from its creation
-- until it is purged; the primary key makes a claim atomic.
CREATE TABLE identifier_uris (
    uri       TEXT NOT NULL PRIMARY KEY,
    tenant_id TEXT NOT NULL,
    object_id TEXT NOT NULL,
    FOREIGN KEY (tenant_id, object_id) REFERENCES objects (tenant_id, id) ON DELETE CASCADE
) STRICT, WITHOUT ROWID;
CREATE INDEX identifier_uris_object ON identifier_uris (tenant_id, object_id);

-- Existing applications claim theirs, the oldest first: a later duplicate
-- keeps its document but must drop the URI at its next change.
INSERT INTO identifier_uris (uri, tenant_id, object_id)
SELECT lower(u.value), o.tenant_id, o.id
FROM objects o, json_each(o.data, '$.identifierUris') u
WHERE o.kind = 'application' AND json_type(o.data, '$.identifierUris') = 'array' AND u.type = 'text'
ORDER BY o.created_at, o.id
ON CONFLICT DO NOTHING;

-- +goose Down
DROP TABLE identifier_uris;
DROP INDEX objects_app_id_deployment;
CREATE INDEX objects_app_lookup ON objects (kind, app_id) WHERE deleted_at IS NULL AND app_id IS NOT NULL;
