package devcert

import (
	"crypto/tls"
	"crypto/x509"
	"os"
	"testing"
	"time"
)

func TestEnsureIssuesTrustedCertificate(t *testing.T) {
	dir := t.TempDir()
	now := time.Now()
	f, err := Ensure(dir, []string{"localhost", "127.0.0.1"}, now)
	if err != nil {
		t.Fatal(err)
	}
	caPEM, _ := os.ReadFile(f.CA)
	pool := x509.NewCertPool()
	if !pool.AppendCertsFromPEM(caPEM) {
		t.Fatal("CA not PEM")
	}
	pair, err := tls.LoadX509KeyPair(f.Cert, f.Key)
	if err != nil {
		t.Fatal(err)
	}
	leaf, _ := x509.ParseCertificate(pair.Certificate[0])
	for _, h := range []string{"localhost", "127.0.0.1"} {
		if _, err := leaf.Verify(x509.VerifyOptions{Roots: pool, DNSName: h}); err != nil {
			t.Errorf("%s: %v", h, err)
		}
	}
	if _, err := leaf.Verify(x509.VerifyOptions{Roots: pool, DNSName: "example.com"}); err == nil {
		t.Error("certificate valid for a host it was not made for")
	}
	if st, _ := os.Stat(f.Key); st.Mode().Perm() != 0o600 {
		t.Errorf("key mode %v", st.Mode().Perm())
	}

	// Same hosts: kept. A new host: reissued under the same CA.
	again, _ := Ensure(dir, []string{"localhost"}, now)
	pair2, _ := tls.LoadX509KeyPair(again.Cert, again.Key)
	if string(pair2.Certificate[0]) != string(pair.Certificate[0]) {
		t.Error("a covering certificate was replaced")
	}
	if _, err := Ensure(dir, []string{"gatehouse.test"}, now); err != nil {
		t.Fatal(err)
	}
	pair3, _ := tls.LoadX509KeyPair(f.Cert, f.Key)
	leaf3, _ := x509.ParseCertificate(pair3.Certificate[0])
	if _, err := leaf3.Verify(x509.VerifyOptions{Roots: pool, DNSName: "gatehouse.test"}); err != nil {
		t.Errorf("reissued certificate not under the same CA: %v", err)
	}
	// Close to expiry: renewed.
	if _, err := Ensure(dir, []string{"gatehouse.test"}, now.Add(leafLifetime-renewBefore/2)); err != nil {
		t.Fatal(err)
	}
	pair4, _ := tls.LoadX509KeyPair(f.Cert, f.Key)
	if string(pair4.Certificate[0]) == string(pair3.Certificate[0]) {
		t.Error("an expiring certificate was kept")
	}
}
