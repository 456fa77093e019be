-- A user an operator disabled keeps its data but may not log in; the
-- reason is shown to the operator and, where a protocol has a message for
-- it (VIPTel's "User is not activated"), to the client.
ALTER TABLE account_user ADD COLUMN disabled TEXT NOT NULL DEFAULT '';
