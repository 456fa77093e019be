CREATE TABLE account_user (
    tenant        TEXT    NOT NULL,
    name          TEXT    NOT NULL,
    password_hash TEXT    NOT NULL, -- argon2id PHC string
    role          TEXT    NOT NULL,
    extension     TEXT    NOT NULL DEFAULT '',
    allow_from    TEXT    NOT NULL DEFAULT '', -- comma-separated prefixes
    created       INTEGER NOT NULL,
    changed       INTEGER NOT NULL,   -- password change time: sessions older than this are void
    PRIMARY KEY (tenant, name)
);
CREATE TABLE api_key (
    id         INTEGER PRIMARY KEY,
    tenant     TEXT    NOT NULL,
    name       TEXT    NOT NULL,
    sha256     TEXT    NOT NULL UNIQUE,
    prefix     TEXT    NOT NULL, -- first characters, to recognise a key in lists
    role       TEXT    NOT NULL,
    allow_from TEXT    NOT NULL DEFAULT '',
    created    INTEGER NOT NULL,
    expires    INTEGER NOT NULL DEFAULT 0,
    revoked    INTEGER NOT NULL DEFAULT 0,
    last_used  INTEGER NOT NULL DEFAULT 0
);
CREATE INDEX api_key_tenant ON api_key (tenant, id);
