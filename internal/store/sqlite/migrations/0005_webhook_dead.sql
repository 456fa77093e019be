CREATE TABLE webhook_dead (
    id         INTEGER PRIMARY KEY,
    tenant     TEXT    NOT NULL,
    hook       TEXT    NOT NULL,
    url        TEXT    NOT NULL,
    seq        INTEGER NOT NULL,
    type       TEXT    NOT NULL,
    body       BLOB    NOT NULL,
    attempts   INTEGER NOT NULL,
    last_error TEXT    NOT NULL DEFAULT '',
    time       INTEGER NOT NULL
);
CREATE INDEX webhook_dead_tenant ON webhook_dead (tenant, id);
