package b2b

import (
	"context"
	"errors"
	"regexp"
	"testing"

	"github.com/gatehouse-id/gatehouse/internal/directory"
	"github.com/gatehouse-id/gatehouse/internal/usererr"
)

// TestPersonalAccountSignUp: a personal account exists only once its
// address is proved by the code sent to it; a wrong or reused code creates
// nothing, a second account for the address is refused, and no other
// tenant takes personal accounts.
func TestPersonalAccountSignUp(t *testing.T) {
	eachBackend(t, func(t *testing.T, e *env) {
		ctx := context.Background()
		if err := e.dir.EnsureConsumersTenant(ctx); err != nil {
			t.Fatal(err)
		}
		const addr, password = "sam@example.net", "correct horse battery staple 7"
		if err := e.svc.SendSignUpCode(ctx, e.contoso, addr); !usererr.IsKind(err, usererr.Forbidden) {
			t.Fatalf("a sign-up code in a workforce tenant: %v", err)
		}
		if err := e.svc.SendSignUpCode(ctx, directory.ConsumersTenantID, addr); err != nil {
			t.Fatal(err)
		}
		mails := e.mails()
		if len(mails) != 1 || mails[0].To[0].Address != addr {
			t.Fatalf("mails %+v", mails)
		}
		code := regexp.MustCompile(`\d{8}`).FindString(mails[0].Text)
		if _, err := e.svc.CreatePersonalAccount(ctx, directory.ConsumersTenantID, addr, "00000000", "Sam", password); !errors.Is(err, ErrBadCode) && code != "00000000" {
			t.Fatalf("a wrong code: %v", err)
		}
		u, err := e.svc.CreatePersonalAccount(ctx, directory.ConsumersTenantID, addr, code, "Sam", password)
		if err != nil || u.Doc["creationType"] != "EmailVerified" || u.Doc["mail"] != addr {
			t.Fatalf("account %v, %v", u.Doc, err)
		}
		if _, err := e.svc.CreatePersonalAccount(ctx, directory.ConsumersTenantID, addr, code, "Sam", password); !errors.Is(err, ErrBadCode) {
			t.Fatalf("the code again: %v", err)
		}
		if err := e.svc.SendSignUpCode(ctx, directory.ConsumersTenantID, addr); err != nil {
			t.Fatal(err)
		}
		mails = e.mails()
		again := regexp.MustCompile(`\d{8}`).FindString(mails[len(mails)-1].Text)
		_, err = e.svc.CreatePersonalAccount(ctx, directory.ConsumersTenantID, addr, again, "Sam", password)
		if ue, ok := usererr.As(err); !ok || ue.Kind != usererr.Invalid {
			t.Fatalf("a second account for the address: %v", err)
		}
	})
}
