package mfa

import (
	"context"
	"encoding/json"
	"errors"

	"github.com/gatehouse-id/gatehouse/internal/audit"
	"github.com/gatehouse-id/gatehouse/internal/caller"
	"github.com/gatehouse-id/gatehouse/internal/directory"
	"github.com/gatehouse-id/gatehouse/internal/store"
)

// loggedBy is the service Entra's audit log names for security info.
const loggedBy = "Authentication Methods"

// methodNames are how the audit records name each type of method.
var methodNames = map[string]string{TypeSoftwareOath: "Software OATH token", TypeEmail: "Email"}

// graphTypes are the Graph types of the methods.
var graphTypes = map[string]string{
	TypeSoftwareOath: "#microsoft.graph.softwareOathAuthenticationMethod",
	TypeEmail:        "#microsoft.graph.emailAuthenticationMethod",
	TypePassword:     "#microsoft.graph.passwordAuthenticationMethod",
}

// GraphType is the @odata.type of a method type.
func GraphType(typ string) string { return graphTypes[typ] }

// audit records a method registered (added) or deleted in tx, as Entra
// records security info: "User registered security info" when the user
// acts on their own account (on the sign-in pages, or through Graph as
// themselves), "Admin …" when someone else does. The methods' writes are
// not directory changes (they are no object's, and their secrets are
// never journaled), so the record is written here, in the same
// transaction: a change and its record commit together.
func (s *Service) audit(ctx context.Context, tx store.Tx, tenantID string, acct account, added bool, m Method) error {
	who, self, err := s.initiator(ctx, tx, tenantID, acct)
	if err != nil {
		return err
	}
	actor, verb, op := "Admin", "deleted", "Delete"
	if self {
		actor = "User"
	}
	if added {
		verb, op = "registered", "Add"
	}
	now := s.now().UTC()
	a := audit.DirectoryAudit{
		ID: s.newID(), ActivityDateTime: now, CorrelationID: s.newID(), InitiatedBy: who,
		ActivityDisplayName: actor + " " + verb + " security info", Category: audit.CategoryUserManagement,
		LoggedByService: loggedBy, OperationType: op, Result: "success",
		ResultReason:    actor + " " + verb + " " + methodNames[m.Type],
		TargetResources: []audit.TargetResource{{ID: acct.ID, DisplayName: acct.DisplayName, Type: "User", UserPrincipalName: acct.UPN}},
		AdditionalDetails: []audit.KeyValue{
			{Key: "methodType", Value: GraphType(m.Type)},
			{Key: "methodId", Value: m.ID},
		},
	}
	rec, err := a.Record(tenantID)
	if err != nil {
		return err
	}
	return tx.AppendAudit(ctx, rec)
}

// initiator names who acts: the request's caller, else (the sign-in
// pages, where a signed-in user manages their own methods) the user.
// self tells whether the user acts on their own account.
func (s *Service) initiator(ctx context.Context, tx store.Tx, tenantID string, acct account) (audit.Initiator, bool, error) {
	c, ok := caller.From(ctx)
	if !ok {
		return audit.Initiator{User: &audit.UserIdentity{ID: acct.ID, DisplayName: acct.DisplayName, UserPrincipalName: acct.UPN}}, true, nil
	}
	kind := directory.KindUser
	if c.AppOnly {
		kind = directory.KindServicePrincipal
	}
	var d struct {
		DisplayName string `json:"displayName"`
		UPN         string `json:"userPrincipalName"`
	}
	o, err := tx.GetObject(ctx, c.TenantID, kind, c.ObjectID)
	switch {
	case err == nil:
		_ = json.Unmarshal(o.Data, &d)
	case !errors.Is(err, store.ErrNotFound):
		return audit.Initiator{}, false, err
	}
	if c.AppOnly {
		return audit.Initiator{App: &audit.AppIdentity{AppID: c.AppID, DisplayName: d.DisplayName, ServicePrincipalID: c.ObjectID, ServicePrincipalName: d.DisplayName}}, false, nil
	}
	upn := c.UserPrincipalName
	if upn == "" {
		upn = d.UPN
	}
	return audit.Initiator{User: &audit.UserIdentity{ID: c.ObjectID, DisplayName: d.DisplayName, UserPrincipalName: upn, IPAddress: c.IPAddress}},
		c.ObjectID == acct.ID, nil
}
