// Package cloudpbx is the CloudPBX (Poziom7) API dialect: the REST
// commands /cdr, /record, /record/{uniqueid}, /dial and /sendSMS, and the
// event WebSocket /ws/pbx_{PBX_NAME}?pbxkey=KEY, wire-compatible with the
// vendor's API version 1.1 so that a client written for CloudPBX works by
// changing only the base URL.
//
// Like every dialect it only translates: credentials go through
// dialect.Gate (the spec's API key is a switchboard Bearer key, which
// belongs to one tenant, the "PBX"), decisions through dialect.Service,
// CDRs through Deps.CDRs and recordings through Deps.Artifacts. The wire
// structs live in wire.go and are pinned by golden files in testdata/;
// the choices where the spec is ambiguous are in README.md.
package cloudpbx
