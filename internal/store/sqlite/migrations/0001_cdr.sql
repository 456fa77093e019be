CREATE TABLE cdr (
    id                INTEGER PRIMARY KEY,
    tenant            TEXT    NOT NULL,
    calldate          INTEGER NOT NULL, -- unix microseconds, UTC
    answerdate        INTEGER NOT NULL DEFAULT 0,
    enddate           INTEGER NOT NULL,
    clid              TEXT    NOT NULL DEFAULT '',
    src               TEXT    NOT NULL DEFAULT '',
    dst               TEXT    NOT NULL DEFAULT '',
    channel           TEXT    NOT NULL DEFAULT '',
    dstchannel        TEXT    NOT NULL DEFAULT '',
    lastapp           TEXT    NOT NULL DEFAULT '',
    duration          INTEGER NOT NULL DEFAULT 0,
    billsec           INTEGER NOT NULL DEFAULT 0,
    disposition       TEXT    NOT NULL DEFAULT '',
    uniqueid          TEXT    NOT NULL DEFAULT '',
    endstatus         TEXT    NOT NULL DEFAULT '',
    callid            TEXT    NOT NULL DEFAULT '',
    codec             TEXT    NOT NULL DEFAULT '',
    pdd_ms            INTEGER NOT NULL DEFAULT 0,
    last_sip_response INTEGER NOT NULL DEFAULT 0,
    hangup_by         TEXT    NOT NULL DEFAULT '',
    src_ua            TEXT    NOT NULL DEFAULT '',
    dst_ua            TEXT    NOT NULL DEFAULT '',
    src_ip            TEXT    NOT NULL DEFAULT '',
    dst_ip            TEXT    NOT NULL DEFAULT '',
    rtp_packets_ab    INTEGER NOT NULL DEFAULT 0,
    rtp_packets_ba    INTEGER NOT NULL DEFAULT 0,
    loss_ab           REAL    NOT NULL DEFAULT 0,
    loss_ba           REAL    NOT NULL DEFAULT 0,
    jitter_ab_ms      REAL    NOT NULL DEFAULT 0,
    jitter_ba_ms      REAL    NOT NULL DEFAULT 0,
    mos               REAL    NOT NULL DEFAULT 0
);
CREATE INDEX cdr_tenant_date ON cdr (tenant, calldate);
CREATE INDEX cdr_tenant_src_date ON cdr (tenant, src, calldate);
CREATE INDEX cdr_tenant_dst_date ON cdr (tenant, dst, calldate);
CREATE INDEX cdr_uniqueid ON cdr (uniqueid);
