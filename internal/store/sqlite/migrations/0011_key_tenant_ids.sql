-- API key ids count within each tenant, like CDR and dead-letter ids
-- (0009): a tenant listing its keys learns nothing of other tenants'.
ALTER TABLE api_key ADD COLUMN tenant_id INTEGER NOT NULL DEFAULT 0;
UPDATE api_key SET tenant_id = id;
CREATE UNIQUE INDEX api_key_tenant_id ON api_key (tenant, tenant_id);
