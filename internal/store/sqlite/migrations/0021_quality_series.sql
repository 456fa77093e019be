-- Each RTP stream's quality over time (the web panel's chart): JSON
-- {"a":[...],"b":[...]} with a point per interval (at, packets, lost,
-- jitter_ms, mos); empty when the call had no audio.
ALTER TABLE cdr ADD COLUMN quality_series TEXT NOT NULL DEFAULT '';
