// Package pbx is switchboard's domain core: tenants, extensions and their
// device state, calls made of channels, the event stream and the Service
// facade that every API dialect calls. It knows nothing of SIP, HTTP or SQL
// (a test pins that): an Engine (the embedded SIP PBX today, others later)
// drives it by reporting facts, and adapters translate its events and
// commands to their wire formats.
//
// Anything may import pbx; pbx imports only the standard library and
// internal/eventbus.
package pbx
