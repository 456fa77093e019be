-- VIPTel's login needs SHA1("user:password"), a password equivalent kept
-- beside the argon2id hash (documented in docs/pbx.md).
ALTER TABLE account_user ADD COLUMN viptel_sha1 TEXT NOT NULL DEFAULT '';
