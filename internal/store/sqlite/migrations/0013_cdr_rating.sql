-- CloudPBX's cost and zone: the rate a call was priced by (trunk rate
-- tables), cost in grosze. rated = 0 means no rate applied, which the API
-- shows as empty strings rather than a zero cost.
ALTER TABLE cdr ADD COLUMN rated INTEGER NOT NULL DEFAULT 0;
ALTER TABLE cdr ADD COLUMN zone TEXT NOT NULL DEFAULT '';
ALTER TABLE cdr ADD COLUMN cost INTEGER NOT NULL DEFAULT 0;
