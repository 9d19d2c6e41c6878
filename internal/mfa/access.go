package mfa

import (
	"context"
	"encoding/json"
	"errors"
	"slices"
	"strings"

	"github.com/gatehouse-id/gatehouse/internal/authz"
	"github.com/gatehouse-id/gatehouse/internal/caller"
	"github.com/gatehouse-id/gatehouse/internal/directory"
	"github.com/gatehouse-id/gatehouse/internal/store"
	"github.com/gatehouse-id/gatehouse/internal/usererr"
)

// Graph's permissions of users' authentication methods.
const (
	permRead         = "UserAuthenticationMethod.Read"
	permReadWrite    = "UserAuthenticationMethod.ReadWrite"
	permReadAll      = "UserAuthenticationMethod.Read.All"
	permReadWriteAll = "UserAuthenticationMethod.ReadWrite.All"
)

// Who may act on another user's methods, as Graph documents for the
// authentication methods API: reading takes a Global Reader, an
// Authentication Administrator or a Privileged Authentication
// Administrator (or a Global Administrator); changing takes one of the
// last three, and an Authentication Administrator reaches only users who
// hold no role but the harmless ones below, as for passwords.
var (
	methodReaders  = []string{authz.GlobalAdministrator, authz.GlobalReader, authz.AuthenticationAdministrator, authz.PrivilegedAuthenticationAdministrator}
	methodManagers = []string{authz.GlobalAdministrator, authz.PrivilegedAuthenticationAdministrator}
	// authAdminReach: the roles a user may hold and still be within an
	// Authentication Administrator's reach (Entra's "who can reset
	// passwords" row of the Authentication Administrator).
	authAdminReach = []string{authz.AuthenticationAdministrator, authz.DirectoryReaders, authz.GuestInviter, authz.MessageCenterReader, authz.PasswordAdministrator, authz.ReportsReader}
)

// access decides whether c may read (or, write, change) the methods of
// the user target: the rule is here rather than in internal/authz, which
// has no notion of authentication methods yet.
func access(c caller.Caller, targetID string, target authz.UserTarget, write bool) authz.Decision {
	const rule = "authenticationMethods"
	deny := func(reason string) authz.Decision { return authz.Decision{Rule: rule, Reason: reason} }
	allow := func(reason string) authz.Decision { return authz.Decision{Allowed: true, Rule: rule, Reason: reason} }
	if c.AppOnly {
		if c.HasPermission(permReadWriteAll) || !write && c.HasPermission(permReadAll) {
			return allow("application permission")
		}
		return deny("the application lacks " + map[bool]string{false: permReadAll, true: permReadWriteAll}[write])
	}
	if c.ObjectID == targetID {
		if c.HasPermission(permReadWrite, permReadWriteAll) || !write && c.HasPermission(permRead, permReadAll) {
			return allow("the user's own methods")
		}
		return deny("the application may not " + map[bool]string{false: "read", true: "change"}[write] + " the user's authentication methods")
	}
	if !(c.HasPermission(permReadWriteAll) || !write && c.HasPermission(permReadAll)) {
		return deny("the application may not act on other users' authentication methods")
	}
	if !write {
		if slices.ContainsFunc(methodReaders, func(r string) bool { return c.HasRole(r) }) {
			return allow("an administrator who may read authentication methods")
		}
		return deny("only a Global Reader or an authentication administrator may read another user's authentication methods")
	}
	if slices.ContainsFunc(methodManagers, func(r string) bool { return c.HasRole(r) }) {
		return allow("a privileged authentication administrator")
	}
	if c.HasRole(authz.AuthenticationAdministrator) {
		within := !target.InRoleAssignableGroup && !slices.ContainsFunc(target.Roles, func(r string) bool { return !slices.Contains(authAdminReach, r) })
		if within {
			return allow("an Authentication Administrator, for a user without a privileged role")
		}
		return deny("an Authentication Administrator may not change the authentication methods of an administrator")
	}
	return deny("only an authentication administrator may change another user's authentication methods")
}

// target resolves the user a Graph request names (object id or UPN) and
// checks that the request's caller may act on their methods. The user is
// looked up as the directory shows it to the caller, so a user the caller
// may not see is not found.
func (s *Service) target(ctx context.Context, tenantID, userKey string, write bool) (account, error) {
	o, err := s.dir.Get(ctx, tenantID, directory.KindUser, userKey)
	if err != nil {
		return account{}, err
	}
	c, ok := caller.From(ctx)
	if !ok {
		return account{}, errors.New("mfa: a Graph request without a caller")
	}
	var t authz.UserTarget
	if !c.AppOnly && c.ObjectID != o.ID && c.HasRole(authz.AuthenticationAdministrator) && write {
		if t, err = s.userTarget(ctx, tenantID, o.ID); err != nil {
			return account{}, err
		}
	}
	if d := access(c, o.ID, t, write); !d.Allowed {
		return account{}, usererr.WithCode(usererr.Forbidden, "Authorization_RequestDenied", "Insufficient privileges to complete the operation: %s.", d.Reason)
	}
	var acct account
	err = s.st.View(ctx, func(tx store.Tx) error {
		acct, err = loadAccount(ctx, tx, tenantID, o.ID)
		return err
	})
	return acct, err
}

// userTarget is what protects a user from an Authentication
// Administrator: their roles and role-assignable groups.
func (s *Service) userTarget(ctx context.Context, tenantID, userID string) (authz.UserTarget, error) {
	var t authz.UserTarget
	roles, err := s.dir.DirectoryRolesOf(ctx, tenantID, userID)
	if err != nil {
		return t, err
	}
	t.Roles = roles
	err = s.st.View(ctx, func(tx store.Tx) error {
		for _, rel := range []string{directory.RelMembers, directory.RelOwners} {
			for q := (store.Query{Top: 999}); ; {
				page, err := tx.ListRelated(ctx, tenantID, store.Related{ID: userID, Rel: rel, Reverse: true}, q)
				if errors.Is(err, store.ErrNotFound) {
					break
				}
				if err != nil {
					return err
				}
				for _, g := range page.Objects {
					var d struct {
						RoleAssignable bool `json:"isAssignableToRole"`
					}
					if g.Kind == directory.KindGroup && json.Unmarshal(g.Data, &d) == nil && d.RoleAssignable {
						t.InRoleAssignableGroup = true
					}
				}
				if page.Next == "" {
					break
				}
				q.Cursor = page.Next
			}
		}
		return nil
	})
	return t, err
}

// notFound is Graph's answer for a method the user does not have.
func notFound(id string) error {
	return usererr.WithCode(usererr.NotFound, "itemNotFound", "The authentication method '%s' was not found for the user.", id)
}

// ListUserMethods lists a user's methods for Graph: typ "" all of them,
// the password method included when the user has a password, or those of
// one type.
func (s *Service) ListUserMethods(ctx context.Context, tenantID, userKey, typ string) ([]Method, error) {
	acct, err := s.target(ctx, tenantID, userKey, false)
	if err != nil {
		return nil, err
	}
	var out []Method
	err = s.st.View(ctx, func(tx store.Tx) error {
		if typ == "" || typ == TypePassword {
			pw, err := tx.ListCredentials(ctx, tenantID, acct.ID, store.CredPassword)
			if err != nil {
				return err
			}
			if len(pw) > 0 {
				out = append(out, Method{ID: PasswordMethodID, Type: TypePassword, CreatedAt: pw[0].CreatedAt})
			}
			if typ == TypePassword {
				return nil
			}
		}
		ms, err := s.methods(ctx, tx, tenantID, acct.ID, typ)
		for _, m := range ms {
			out = append(out, m.Method)
		}
		return err
	})
	return out, err
}

// UserMethod returns one of a user's methods for Graph (of type typ, ""
// any): 404 when the user has none by that id, whoever else has.
func (s *Service) UserMethod(ctx context.Context, tenantID, userKey, typ, methodID string) (Method, error) {
	all, err := s.ListUserMethods(ctx, tenantID, userKey, typ)
	if err != nil {
		return Method{}, err
	}
	i := slices.IndexFunc(all, func(m Method) bool { return strings.EqualFold(m.ID, methodID) })
	if i < 0 {
		return Method{}, notFound(methodID)
	}
	return all[i], nil
}

// DeleteUserMethod deletes one of a user's methods for Graph (of type typ,
// "" any), audited "User deleted security info" or "Admin deleted security
// info". The password method cannot be deleted (Graph refuses it too).
func (s *Service) DeleteUserMethod(ctx context.Context, tenantID, userKey, typ, methodID string) error {
	acct, err := s.target(ctx, tenantID, userKey, true)
	if err != nil {
		return err
	}
	if strings.EqualFold(methodID, PasswordMethodID) && (typ == "" || typ == TypePassword) {
		return usererr.New(usererr.Invalid, "The password method cannot be deleted; reset the password instead.")
	}
	return s.st.Update(ctx, func(tx store.Tx) error {
		return s.deleteMethod(ctx, tx, tenantID, acct, typ, methodID, notFound(methodID))
	})
}
