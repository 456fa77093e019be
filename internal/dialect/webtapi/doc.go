// Package webtapi is the Metasec WebTAPI interface (version 2013.01.22)
// as a switchboard dialect, wire-compatible so that an integration
// written against a Metasec MZF WebTAPI server works by changing only host
// and port.
//
// Everything is one script, /webtapi/webtapi.php, driven by the action
// parameter (GET or POST, form-encoded or multipart). login (POST only,
// AUTH[user] and AUTH[pass]) answers a session id in plain text; every
// other action carries it as SID and answers 1 or 0, a list with one item
// per line, or raw bytes (a recording, a picture, an MJPEG stream). The
// protocol has no error text: every failure is 0, and the reason goes to
// the audit log, the server log and an X-Webtapi-Error header.
//
// Like every dialect it only translates: logins and sessions go through
// dialect.Gate, decisions through dialect.Service (restricted roles act
// only on their own extension's calls), recordings through Deps.Artifacts
// with names looked up in the index. The choices where the spec is silent
// are in README.md and docs/webtapi.md.
package webtapi
