// Package voipmonitor is the VoIPmonitor WEB API dialect: the GUI's
// session login and CDR filter form (php/model/sql.php), HTTP API 2
// (php/api.php), PCAP and SIP-history downloads (php/pcap.php,
// php/pcap2text.php) and the licence checks (php/apilicensecheck.php), so
// that scripts written for a VoIPmonitor GUI work against switchboard by
// changing only the host. It reaches the system only through dialect.Deps.
// See README.md for the choices where the spec is silent.
package voipmonitor
