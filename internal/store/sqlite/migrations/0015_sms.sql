-- Text messages (internal/sms): one row per message, updated in place as
-- its state changes. Times are unix microseconds, 0 for "not yet".
CREATE TABLE sms (
    tenant       TEXT    NOT NULL,
    id           TEXT    NOT NULL,
    owner        TEXT    NOT NULL DEFAULT '',
    sender       TEXT    NOT NULL DEFAULT '',
    recipient    TEXT    NOT NULL,
    body         TEXT    NOT NULL,
    state        TEXT    NOT NULL,
    queued       INTEGER NOT NULL,
    accepted     INTEGER NOT NULL DEFAULT 0,
    sent         INTEGER NOT NULL DEFAULT 0,
    done         INTEGER NOT NULL DEFAULT 0,
    updated      INTEGER NOT NULL,
    attempts     INTEGER NOT NULL DEFAULT 0,
    next_attempt INTEGER NOT NULL DEFAULT 0,
    error        TEXT    NOT NULL DEFAULT '',
    driver       TEXT    NOT NULL DEFAULT '',
    ref          TEXT    NOT NULL DEFAULT '',
    rated        INTEGER NOT NULL DEFAULT 0,
    cost         INTEGER NOT NULL DEFAULT 0,
    zone         TEXT    NOT NULL DEFAULT '',
    PRIMARY KEY (tenant, id)
) WITHOUT ROWID;
CREATE INDEX sms_tenant_queued ON sms (tenant, queued);
-- What a restart resumes: the few messages not yet final.
CREATE INDEX sms_pending ON sms (queued) WHERE state IN ('QUEUE', 'RENEWAL', 'ACCEPTED', 'SENT');
-- Gateways' status callbacks name their own reference.
CREATE INDEX sms_ref ON sms (tenant, ref) WHERE ref <> '';
