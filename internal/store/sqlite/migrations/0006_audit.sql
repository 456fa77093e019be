CREATE TABLE audit_log (
    id        INTEGER PRIMARY KEY,
    time      INTEGER NOT NULL, -- unix microseconds, UTC
    tenant    TEXT    NOT NULL DEFAULT '',
    principal TEXT    NOT NULL DEFAULT '',
    role      TEXT    NOT NULL DEFAULT '',
    api_key   INTEGER NOT NULL DEFAULT 0,
    remote    TEXT    NOT NULL DEFAULT '',
    dialect   TEXT    NOT NULL DEFAULT '',
    action    TEXT    NOT NULL,
    target    TEXT    NOT NULL DEFAULT '',
    status    INTEGER NOT NULL,
    reason    TEXT    NOT NULL DEFAULT ''
);
CREATE INDEX audit_log_tenant_time ON audit_log (tenant, time);
