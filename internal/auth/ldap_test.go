package auth

import (
	"fmt"
	"net"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"testing"
	"time"
)

// startSlapd runs Debian's slapd on a random loopback port with a
// throw-away database: two users, alice in the admins group, bob in none.
func startSlapd(t *testing.T) string {
	t.Helper()
	slapd, err := exec.LookPath("slapd")
	if err != nil {
		slapd = "/usr/sbin/slapd"
		if _, err := os.Stat(slapd); err != nil {
			if os.Getenv("CI") != "" {
				t.Fatal("slapd is not installed (apt-get install slapd); .ci/run installs it")
			}
			t.Skip("slapd not installed")
		}
	}
	dir := t.TempDir()
	db := filepath.Join(dir, "db")
	if err := os.Mkdir(db, 0o700); err != nil {
		t.Fatal(err)
	}
	conf := filepath.Join(dir, "slapd.conf")
	os.WriteFile(conf, []byte(fmt.Sprintf(`include /etc/ldap/schema/core.schema
include /etc/ldap/schema/cosine.schema
include /etc/ldap/schema/inetorgperson.schema
modulepath /usr/lib/ldap
moduleload back_mdb
pidfile %s/slapd.pid
database mdb
maxsize 10485760
suffix "dc=example,dc=org"
rootdn "cn=admin,dc=example,dc=org"
rootpw admin-secret
directory %s
`, dir, db)), 0o600)
	ldif := filepath.Join(dir, "data.ldif")
	os.WriteFile(ldif, []byte(`dn: dc=example,dc=org
objectClass: dcObject
objectClass: organization
o: Example
dc: example

dn: ou=people,dc=example,dc=org
objectClass: organizationalUnit
ou: people

dn: ou=groups,dc=example,dc=org
objectClass: organizationalUnit
ou: groups

dn: uid=alice,ou=people,dc=example,dc=org
objectClass: inetOrgPerson
uid: alice
cn: Alice
sn: A
userPassword: alice-secret-1

dn: uid=bob,ou=people,dc=example,dc=org
objectClass: inetOrgPerson
uid: bob
cn: Bob
sn: B
userPassword: bob-secret-12

dn: cn=admins,ou=groups,dc=example,dc=org
objectClass: groupOfNames
cn: admins
member: uid=alice,ou=people,dc=example,dc=org
`), 0o600)
	slapadd := filepath.Join(filepath.Dir(slapd), "slapadd")
	if out, err := exec.Command(slapadd, "-f", conf, "-l", ldif).CombinedOutput(); err != nil {
		t.Fatalf("slapadd: %v\n%s", err, out)
	}
	ln, _ := net.Listen("tcp", "127.0.0.1:0")
	addr := ln.Addr().String()
	ln.Close()
	cmd := exec.Command(slapd, "-f", conf, "-h", "ldap://"+addr+"/", "-d", "0")
	var logs strings.Builder
	cmd.Stdout, cmd.Stderr = &logs, &logs
	if err := cmd.Start(); err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { _ = cmd.Process.Kill(); _ = cmd.Wait() })
	for deadline := time.Now().Add(10 * time.Second); ; time.Sleep(50 * time.Millisecond) {
		if c, err := net.DialTimeout("tcp", addr, time.Second); err == nil {
			c.Close()
			break
		}
		if time.Now().After(deadline) {
			t.Fatalf("slapd did not listen:\n%s", logs.String())
		}
	}
	return "ldap://" + addr
}

// TestLDAPLogin: a directory user logs in with its own password and gets
// the role of its group; a user in no mapped group gets the default role;
// wrong and empty passwords, and unknown users, are refused; a DN
// injection attempt does not bind.
func TestLDAPLogin(t *testing.T) {
	url := startSlapd(t)
	d, err := NewDirectory(nil, nil, nil)
	if err != nil {
		t.Fatal(err)
	}
	d.SetLDAP("acme", LDAPConfig{URL: url, UserDN: "uid={user},ou=people,dc=example,dc=org", GroupBase: "ou=groups,dc=example,dc=org",
		RoleGroups: map[string]string{"admins": "admin", "staff": "supervisor"}, DefaultRole: "readonly"})
	p, err := d.CheckPassword("acme", "alice", "alice-secret-1")
	if err != nil || p.Role != "admin" || p.Tenant != "acme" || p.Name != "alice" {
		t.Fatalf("alice: %+v %v", p, err)
	}
	if p, err := d.CheckPassword("", "bob", "bob-secret-12"); err != nil || p.Role != "readonly" {
		t.Fatalf("bob (no tenant named, one directory): %+v %v", p, err)
	}
	for _, c := range [][2]string{{"alice", "wrong"}, {"alice", ""}, {"nobody", "x-secret-123"}, {"alice,ou=people,dc=example,dc=org", "alice-secret-1"}, {"*", "alice-secret-1"}} {
		if _, err := d.CheckPassword("acme", c[0], c[1]); err == nil {
			t.Fatalf("%q/%q accepted", c[0], c[1])
		}
	}
	// Without a default role, users in no mapped group are refused.
	d.SetLDAP("acme", LDAPConfig{URL: url, UserDN: "uid={user},ou=people,dc=example,dc=org", GroupBase: "ou=groups,dc=example,dc=org",
		RoleGroups: map[string]string{"admins": "admin"}})
	if _, err := d.CheckPassword("acme", "bob", "bob-secret-12"); err == nil {
		t.Fatal("bob accepted without a mapped group or default role")
	}
	// An unreachable directory refuses, it does not hang.
	d.SetLDAP("acme", LDAPConfig{URL: "ldap://127.0.0.1:1", UserDN: "uid={user},dc=x", DefaultRole: "user", Timeout: time.Second})
	start := time.Now()
	if _, err := d.CheckPassword("acme", "carol", "carol-secret-1"); err == nil || time.Since(start) > 5*time.Second {
		t.Fatalf("unreachable directory: %v after %v", err, time.Since(start))
	}
}
