-- Ids a tenant sees count within that tenant, so one tenant cannot infer
-- another's call volume from the gaps. Rows written before keep their
-- global id as their tenant id (unique within the tenant all the same).
ALTER TABLE cdr ADD COLUMN tenant_id INTEGER NOT NULL DEFAULT 0;
UPDATE cdr SET tenant_id = id;
CREATE UNIQUE INDEX cdr_tenant_id ON cdr (tenant, tenant_id);
ALTER TABLE webhook_dead ADD COLUMN tenant_id INTEGER NOT NULL DEFAULT 0;
UPDATE webhook_dead SET tenant_id = id;
CREATE UNIQUE INDEX webhook_dead_tenant_id ON webhook_dead (tenant, tenant_id);
