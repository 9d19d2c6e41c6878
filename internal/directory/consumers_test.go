package directory

import (
	"context"
	"sync"
	"testing"

	"github.com/gatehouse-id/gatehouse/internal/store"
	"github.com/gatehouse-id/gatehouse/internal/usererr"
)

// TestEnsureConsumersTenant: nodes racing to create the consumers tenant
// leave exactly one, with its fixed id, and later calls change nothing.
func TestEnsureConsumersTenant(t *testing.T) {
	ctx := context.Background()
	s := newTestService(t)
	var wg sync.WaitGroup
	errs := make([]error, 4)
	for i := range errs {
		wg.Go(func() { errs[i] = s.EnsureConsumersTenant(ctx) })
	}
	wg.Wait()
	for _, err := range errs {
		if err != nil {
			t.Fatal(err)
		}
	}
	if err := s.EnsureConsumersTenant(ctx); err != nil {
		t.Fatal(err)
	}
	var tenants []store.Tenant
	err := s.View(ctx, func(tx store.Tx) error {
		var err error
		tenants, err = tx.ListTenants(ctx, "", 10)
		return err
	})
	if err != nil || len(tenants) != 1 || tenants[0].ID != ConsumersTenantID || tenants[0].Type != store.TenantExternal {
		t.Fatalf("tenants %+v, %v", tenants, err)
	}
}

// TestCreateEmailVerifiedUser: a personal account signs in with its address,
// its mail is the email claim (proved at sign-up, on no verified domain), a
// second account with the address is refused, and so is a weak password.
func TestCreateEmailVerifiedUser(t *testing.T) {
	ctx := context.Background()
	s := newTestService(t)
	if err := s.EnsureConsumersTenant(ctx); err != nil {
		t.Fatal(err)
	}
	const email, password = "Sam@Example.net", "correct horse battery staple 42"
	u, err := s.CreateEmailVerifiedUser(ctx, ConsumersTenantID, email, "Sam", password)
	if err != nil {
		t.Fatal(err)
	}
	if u.Doc["creationType"] != "EmailVerified" || u.Doc["userType"] != "Member" {
		t.Fatalf("account %v", u.Doc)
	}
	in, err := s.SignIn(ctx, ConsumersTenantID, "sam@example.net", password)
	if err != nil || in.ID != u.ID {
		t.Fatalf("sign-in with the address: %+v, %v", in, err)
	}
	tu, err := s.TokenUserFor(ctx, ConsumersTenantID, u.ID, CLIAppID)
	if err != nil || tu.Email != email {
		t.Fatalf("email claim source %+v, %v", tu, err)
	}
	_, err = s.CreateEmailVerifiedUser(ctx, ConsumersTenantID, "sam@example.net", "Sam again", password)
	if e, ok := usererr.As(err); !ok || e.Target != "identities" {
		t.Fatalf("a second account with the same address: %v", err)
	}
	if _, err := s.CreateEmailVerifiedUser(ctx, ConsumersTenantID, "pat@example.net", "Pat", "password"); err == nil {
		t.Fatal("a common password was accepted")
	}
}
