package mfa

import (
	"context"
	"testing"
	"time"

	"github.com/gatehouse-id/gatehouse/internal/authz"
)

// BenchmarkDecide: the requirement of a second factor, decided for every
// sign-in.
func BenchmarkDecide(b *testing.B) {
	p, u := Policy{SecurityDefaults: true}, Subject{Guest: true, Roles: []string{authz.DirectoryReaders}}
	proof := Proof{AMR: []string{"pwd"}, HomeAMR: []string{"pwd", "mfa"}, HomeMFATrusted: true}
	for b.Loop() {
		if !Decide(p, u, proof).Satisfied {
			b.Fatal("not satisfied")
		}
	}
}

// BenchmarkVerifyTOTP: one code checked on SQLite, the guard locked and
// written, each code of a step of its own.
func BenchmarkVerifyTOTP(b *testing.B) {
	e := newEnv(b, openSQLite)
	_, secret := e.enrol(e.alice)
	for b.Loop() {
		e.clock.advance(30 * time.Second)
		code, _ := Code(secret, e.clock.now())
		if _, err := e.svc.VerifyTOTP(context.Background(), e.tenant, e.alice, code); err != nil {
			b.Fatal(err)
		}
	}
}
