-- The call an event is about, so a call's whole history (the dossier) is
-- one indexed read instead of a scan of the log.
ALTER TABLE event_log ADD COLUMN call_id TEXT;
CREATE INDEX event_log_call ON event_log (tenant, call_id) WHERE call_id IS NOT NULL;
