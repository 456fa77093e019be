-- Idempotency keys: a client that retries a click-to-call (native
-- Idempotency-Key, VIPTel call_random_id) gets the first request's answer
-- instead of a second ringing phone, across a restart too.
CREATE TABLE idempotency_keys (
    tenant      TEXT    NOT NULL,
    owner       TEXT    NOT NULL, -- the principal (user:NAME or key:NAME)
    scope       TEXT    NOT NULL, -- the dialect that owns the key's meaning
    key         TEXT    NOT NULL,
    fingerprint TEXT    NOT NULL, -- hash of the request the key was first used with
    done        INTEGER NOT NULL, -- 0 while the first request runs
    body        BLOB,             -- the first request's answer, once done
    created     INTEGER NOT NULL, -- unix microseconds of the claim
    PRIMARY KEY (tenant, owner, scope, key)
) WITHOUT ROWID;
CREATE INDEX idempotency_keys_created ON idempotency_keys (created);
