package directory

import (
	"context"

	"github.com/gatehouse-id/gatehouse/internal/sessionpolicy"
	"github.com/gatehouse-id/gatehouse/internal/store"
	"github.com/gatehouse-id/gatehouse/internal/usererr"
)

// KindSessionLifetimePolicy is the tenant's sessionLifetimePolicy singleton
// (GET/PATCH /policies/sessionLifetimePolicy), Gatehouse's own: Graph's
// tokenLifetimePolicy no longer configures sessions or refresh tokens, and
// never had an idle timeout for SSO sessions.
const KindSessionLifetimePolicy = "sessionLifetimePolicy"

const sessionLifetimePolicyID = "sessionLifetimePolicy"

func checkDuration(s string) error {
	_, err := sessionpolicy.ParseDuration(s)
	return err
}

var sessionLifetimePolicySpec = (&kindSpec{
	kind: KindSessionLifetimePolicy, typeName: "sessionLifetimePolicy", resource: "SessionLifetimePolicy",
	props: map[string]prop{
		"id":                       ro(tString),
		"displayName":              ro(tString),
		"signInSessionMaxAge":      {typ: tString, notNull: true, check: checkDuration},
		"signInSessionIdleTimeout": {typ: tString, notNull: true, check: checkDuration},
		"refreshTokenMaxAge":       {typ: tString, notNull: true, check: checkDuration},
		"refreshTokenIdleTimeout":  {typ: tString, notNull: true, check: checkDuration},
	},
}).init()

func defaultSessionLifetimePolicy() Doc {
	d := sessionpolicy.Default
	return Doc{
		"id": sessionLifetimePolicyID, "displayName": "Session lifetime policy",
		"signInSessionMaxAge":      sessionpolicy.FormatDuration(d.Session.MaxAge),
		"signInSessionIdleTimeout": sessionpolicy.FormatDuration(d.Session.IdleTimeout),
		"refreshTokenMaxAge":       sessionpolicy.FormatDuration(d.Refresh.MaxAge),
		"refreshTokenIdleTimeout":  sessionpolicy.FormatDuration(d.Refresh.IdleTimeout),
	}
}

func sessionLifetimePolicy(ctx context.Context, tx store.Tx, tenantID string) (Object, error) {
	return singleton(ctx, tx, tenantID, KindSessionLifetimePolicy, sessionLifetimePolicyID, defaultSessionLifetimePolicy)
}

// SessionLifetimePolicy returns the tenant's policy document; it always exists.
func (s *Service) SessionLifetimePolicy(ctx context.Context, tenantID string) (Object, error) {
	return s.readSingleton(ctx, tenantID, sessionLifetimePolicy)
}

// SessionPolicy returns the tenant's session lifetime rules.
func (s *Service) SessionPolicy(ctx context.Context, tenantID string) (sessionpolicy.Policy, error) {
	o, err := s.SessionLifetimePolicy(ctx, tenantID)
	if err != nil {
		return sessionpolicy.Policy{}, err
	}
	return sessionPolicyOf(o.Doc)
}

// UpdateSessionLifetimePolicy applies PATCH /policies/sessionLifetimePolicy.
func (s *Service) UpdateSessionLifetimePolicy(ctx context.Context, tenantID string, body Doc) error {
	return s.updateSingleton(ctx, tenantID, sessionLifetimePolicySpec, sessionLifetimePolicy, body, func(next Doc) error {
		p, err := sessionPolicyOf(next)
		if err != nil {
			return err
		}
		if err := p.Check(); err != nil {
			return usererr.New(usererr.Invalid, "Invalid session lifetime policy: %v.", err)
		}
		return nil
	})
}

func sessionPolicyOf(d Doc) (sessionpolicy.Policy, error) {
	var p sessionpolicy.Policy
	for _, f := range []struct {
		name string
		to   *sessionpolicy.Lifetime
		age  bool
	}{
		{"signInSessionMaxAge", &p.Session, true}, {"signInSessionIdleTimeout", &p.Session, false},
		{"refreshTokenMaxAge", &p.Refresh, true}, {"refreshTokenIdleTimeout", &p.Refresh, false},
	} {
		v, err := sessionpolicy.ParseDuration(str(d, f.name))
		if err != nil {
			return p, usererr.New(usererr.Invalid, "Invalid value specified for property '%s' of resource 'SessionLifetimePolicy': %v.", f.name, err)
		}
		if f.age {
			f.to.MaxAge = v
		} else {
			f.to.IdleTimeout = v
		}
	}
	return p, nil
}
