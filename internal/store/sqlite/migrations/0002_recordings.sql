CREATE TABLE recording (
    id        TEXT    PRIMARY KEY,
    tenant    TEXT    NOT NULL,
    call_id   TEXT    NOT NULL,
    src       TEXT    NOT NULL DEFAULT '',
    dst       TEXT    NOT NULL DEFAULT '',
    file      TEXT    NOT NULL,
    stereo    INTEGER NOT NULL DEFAULT 0,
    state     TEXT    NOT NULL,
    started_by TEXT   NOT NULL DEFAULT '',
    started   INTEGER NOT NULL, -- unix microseconds, UTC
    ended     INTEGER NOT NULL DEFAULT 0,
    millis    INTEGER NOT NULL DEFAULT 0,
    size      INTEGER NOT NULL DEFAULT 0,
    error     TEXT    NOT NULL DEFAULT ''
);
CREATE UNIQUE INDEX recording_file ON recording (tenant, file);
CREATE INDEX recording_tenant_started ON recording (tenant, started);
CREATE INDEX recording_call ON recording (tenant, call_id);
CREATE INDEX recording_open ON recording (state) WHERE state IN ('recording', 'paused');
