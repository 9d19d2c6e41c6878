package mfa

import (
	"context"
	"slices"
	"testing"

	"github.com/gatehouse-id/gatehouse/internal/authz"
	"github.com/gatehouse-id/gatehouse/internal/directory"
	"github.com/gatehouse-id/gatehouse/internal/usererr"
)

func TestDecide(t *testing.T) {
	on, off := Policy{SecurityDefaults: true}, Policy{}
	member, admin, guest := Subject{}, Subject{Roles: []string{authz.UserAdministrator}}, Subject{Guest: true}
	pwd, pwdMFA, pwdNGC := []string{"pwd"}, []string{"pwd", "otp", "mfa"}, []string{"pwd", "ngcmfa"}
	for _, tc := range []struct {
		name      string
		p         Policy
		u         Subject
		proof     Proof
		challenge bool
		rule      string
	}{
		{"defaults off: a password is enough", off, member, Proof{AMR: pwd}, false, "none"},
		{"defaults off: an administrator too", off, admin, Proof{AMR: pwd}, false, "none"},
		{"defaults off: a guest too", off, guest, Proof{AMR: pwd}, false, "none"},
		{"a member with a password", on, member, Proof{AMR: pwd}, true, "securityDefaults.users"},
		{"a member who did MFA", on, member, Proof{AMR: pwdMFA}, false, "securityDefaults.users"},
		{"ngcmfa is MFA", on, member, Proof{AMR: pwdNGC}, false, "securityDefaults.users"},
		{"an administrator with a password", on, admin, Proof{AMR: pwd}, true, "securityDefaults.administrators"},
		{"an administrator who did MFA", on, admin, Proof{AMR: pwdMFA}, false, "securityDefaults.administrators"},
		{"a role outside the list is a user", on, Subject{Roles: []string{authz.DirectoryReaders}}, Proof{AMR: pwd}, true, "securityDefaults.users"},
		{"a guest with a password at home", on, guest, Proof{HomeAMR: pwd}, true, "securityDefaults.guests"},
		{"a guest with MFA at home, trusted", on, guest, Proof{HomeAMR: pwdMFA, HomeMFATrusted: true}, false, "securityDefaults.guests"},
		{"a guest with MFA at home, untrusted", on, guest, Proof{HomeAMR: pwdMFA}, true, "securityDefaults.guests"},
		{"trust without MFA at home proves nothing", on, guest, Proof{HomeAMR: pwd, HomeMFATrusted: true}, true, "securityDefaults.guests"},
		{"a guest who did MFA here", on, guest, Proof{AMR: pwdMFA, HomeAMR: pwd}, false, "securityDefaults.guests"},
		// Home claims of a member mean nothing: only guests come from home.
		{"a member's home amr is ignored", on, member, Proof{AMR: pwd, HomeAMR: pwdMFA, HomeMFATrusted: true}, true, "securityDefaults.users"},
		{"a guest administrator is an administrator", on, Subject{Guest: true, Roles: []string{authz.GlobalAdministrator}}, Proof{HomeAMR: pwdMFA}, true, "securityDefaults.administrators"},
	} {
		d := Decide(tc.p, tc.u, tc.proof)
		if d.Challenge() != tc.challenge || d.Rule != tc.rule || d.Reason == "" {
			t.Errorf("%s: %+v", tc.name, d)
		}
		if d.Required != tc.p.SecurityDefaults {
			t.Errorf("%s: required %v", tc.name, d.Required)
		}
	}
}

func TestAMR(t *testing.T) {
	if got := AcceptedAMR([]string{"pwd", "mfa"}, false); !slices.Equal(got, []string{"pwd"}) {
		t.Errorf("untrusted: %v", got)
	}
	if got := AcceptedAMR([]string{"pwd", "ngcmfa"}, false); !slices.Equal(got, []string{"pwd"}) {
		t.Errorf("untrusted ngcmfa: %v", got)
	}
	if got := AcceptedAMR([]string{"pwd", "mfa"}, true); !slices.Equal(got, []string{"pwd", "mfa"}) {
		t.Errorf("trusted: %v", got)
	}
	home := []string{"pwd", "mfa"}
	AcceptedAMR(home, false)
	if !slices.Equal(home, []string{"pwd", "mfa"}) {
		t.Errorf("the home amr changed: %v", home)
	}
	if got := WithSecondFactor([]string{"pwd"}); !slices.Equal(got, []string{"pwd", "otp", "mfa"}) {
		t.Errorf("second factor: %v", got)
	}
	if got := WithSecondFactor([]string{"otp"}); !slices.Equal(got, []string{"otp", "mfa"}) {
		t.Errorf("second factor after a passcode: %v", got)
	}
}

func TestSecurityDefaultsPolicy(t *testing.T) {
	eachBackend(t, func(t *testing.T, e *env) {
		ctx := context.Background()
		if p, err := e.svc.Policy(ctx, e.tenant); err != nil || p.SecurityDefaults {
			t.Fatalf("default: %+v %v", p, err)
		}
		doc, err := e.svc.SecurityDefaults(ctx, e.tenant)
		if err != nil || doc["isEnabled"] != false || doc["id"] != SecurityDefaultsID || doc["displayName"] != "Security Defaults" {
			t.Fatalf("document: %v %v", doc, err)
		}
		for _, bad := range []directory.Doc{{"isEnabled": "yes"}, {"displayName": "mine"}, {"unknown": true},
			{"@odata.type": "#microsoft.graph.authorizationPolicy", "isEnabled": true}} {
			if err := e.svc.UpdateSecurityDefaults(ctx, e.tenant, bad); !usererr.IsKind(err, usererr.Invalid) {
				t.Errorf("%v: %v", bad, err)
			}
		}
		if err := e.svc.UpdateSecurityDefaults(ctx, e.tenant, directory.Doc{"IsEnabled": true}); err != nil {
			t.Fatal(err)
		}
		if p, _ := e.svc.Policy(ctx, e.tenant); !p.SecurityDefaults {
			t.Fatal("not enabled")
		}
		if err := e.svc.UpdateSecurityDefaults(ctx, e.tenant, directory.Doc{"isEnabled": false}); err != nil {
			t.Fatal(err)
		}
		if p, _ := e.svc.Policy(ctx, e.tenant); p.SecurityDefaults {
			t.Fatal("not disabled")
		}
	})
}
