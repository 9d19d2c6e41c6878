-- The identities guests sign in with (store.Tx.PutExternalIdentity): an
-- (issuer, subject) of another identity provider names at most one user of
-- a tenant. The index on (issuer, subject) serves ListGuestAccounts, which
-- finds one person's guest accounts across tenants. A purged user's rows go
-- with it.

-- +goose Up
CREATE TABLE external_identities (
    tenant_id      text COLLATE "C" NOT NULL,
    issuer         text COLLATE "C" NOT NULL,
    subject        text COLLATE "C" NOT NULL,
    user_id        text COLLATE "C" NOT NULL,
    home_tenant_id text COLLATE "C" NOT NULL DEFAULT '',
    created_at     timestamptz NOT NULL,
    PRIMARY KEY (tenant_id, issuer, subject),
    FOREIGN KEY (tenant_id, user_id) REFERENCES objects (tenant_id, id) ON DELETE CASCADE
);
CREATE INDEX external_identities_account ON external_identities (issuer, subject);
CREATE INDEX external_identities_user ON external_identities (tenant_id, user_id);

-- +goose Down
DROP TABLE external_identities;
