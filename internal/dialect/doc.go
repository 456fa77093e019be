// Package dialect is the seam between switchboard's API dialects (native,
// and the vendor-compatible ones: WebTAPI, VIPTel, CloudPBX, VoIPmonitor)
// and the rest of the system. It holds what every dialect shares, so no
// dialect copies another:
//
//   - Service: the core's commands and queries with the principal passed
//     in, and the one copy of the permission rules (rights, and ownership
//     for restricted roles);
//   - event visibility: which events, and how much of them, a principal
//     may receive;
//   - the contract a dialect implements and the dependencies it is given.
//
// A dialect lives in internal/dialect/<name>. It may import this package,
// internal/pbx, internal/auth, internal/audit, internal/eventbus and the
// store interfaces; never internal/sipengine, internal/media,
// internal/store/sqlite or another dialect (an architecture test checks).
package dialect
