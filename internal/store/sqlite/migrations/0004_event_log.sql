CREATE TABLE event_log (
    tenant TEXT    NOT NULL,
    seq    INTEGER NOT NULL,
    time   INTEGER NOT NULL, -- unix microseconds, UTC
    type   TEXT    NOT NULL,
    body   BLOB    NOT NULL,
    PRIMARY KEY (tenant, seq)
) WITHOUT ROWID;
CREATE INDEX event_log_time ON event_log (time);
