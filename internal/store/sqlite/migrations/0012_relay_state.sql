-- Virtual relays keep their state here, so a door relay switched on stays
-- on across a restart (and the demo's relay 17 starts off).
CREATE TABLE relay_state (
    tenant  TEXT    NOT NULL,
    id      INTEGER NOT NULL,
    state   INTEGER NOT NULL,
    changed INTEGER NOT NULL, -- unix microseconds
    PRIMARY KEY (tenant, id)
) WITHOUT ROWID;
