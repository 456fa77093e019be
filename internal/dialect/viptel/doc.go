// Package viptel is the VIPTel PBX WebSocket API (pbxmanager, spec 1.0.8)
// as a switchboard dialect, wire-compatible so a client written for
// VIPTel works by changing only its URL.
//
// A client connects (at "/" with an upgrade, or at /viptel), gets code 100
// with a nonce, logs in with user.login and SHA1(SHA1(user:password):nonce),
// then sends call.create, call.hangup and call.redirect and receives the
// PBX's call and queue events as the spec's event messages. Who may do
// and see what is not decided here: logins go through the shared gate
// (lockout, allowlists, disabled accounts), actions through
// dialect.Service, events through dialect.VisibleEvent. What the spec
// leaves open, and how it was decided, is in README.md.
package viptel
