CREATE TABLE queue_log (
    id      INTEGER PRIMARY KEY,
    time    INTEGER NOT NULL, -- unix microseconds, UTC
    tenant  TEXT    NOT NULL,
    queue   TEXT    NOT NULL,
    call_id TEXT    NOT NULL DEFAULT '',
    agent   TEXT    NOT NULL DEFAULT '',
    event   TEXT    NOT NULL,
    wait_ms INTEGER NOT NULL DEFAULT 0,
    talk_ms INTEGER NOT NULL DEFAULT 0,
    info    TEXT    NOT NULL DEFAULT ''
);
CREATE INDEX queue_log_tenant_queue_time ON queue_log (tenant, queue, time);
CREATE INDEX queue_log_tenant_agent_time ON queue_log (tenant, agent, time);
