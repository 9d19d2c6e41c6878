package b2b

import (
	"context"
	"errors"
	"strings"
	"time"

	"github.com/gatehouse-id/gatehouse/internal/audit"
	"github.com/gatehouse-id/gatehouse/internal/authz"
	"github.com/gatehouse-id/gatehouse/internal/caller"
	"github.com/gatehouse-id/gatehouse/internal/directory"
	"github.com/gatehouse-id/gatehouse/internal/odata"
	"github.com/gatehouse-id/gatehouse/internal/store"
	"github.com/gatehouse-id/gatehouse/internal/usererr"
)

// loggedBy is the service that logs invited users' activities.
const loggedBy = directory.InvitedUsersService

// The tenant's invitation rate: at most rateLimit invitations in a window
// of rateWindow, counted in the store so every node shares it.
const (
	rateKind   = "b2bInviteRate"
	rateLimit  = 150
	rateWindow = 5 * time.Second
)

// Invite invites an external user as POST /invitations does, or resets a
// guest's redemption (resetRedemption), for the caller in ctx. It returns
// the invitation resource. The guest, its sponsors, the redeem ticket,
// the audit records and the invitation email are written in one
// transaction.
func (s *Service) Invite(ctx context.Context, tenantID string, body directory.Doc) (directory.Doc, error) {
	c, ok := caller.From(ctx)
	if !ok || c.TenantID != tenantID {
		return nil, usererr.New(usererr.Forbidden, "Insufficient privileges to complete the operation.")
	}
	in, err := parseInvitation(body)
	if err != nil {
		return nil, err
	}
	if in.Reset {
		if err := s.checkReset(ctx, c, tenantID, in.UserID); err != nil {
			return nil, err
		}
	}
	lang := emailLanguage(in)
	brand, err := s.dir.BrandingFor(ctx, tenantID, lang)
	if err != nil {
		return nil, err
	}
	var out directory.Doc
	err = s.dir.Update(ctx, func(tx store.Tx) error {
		who, inviterName, err := inviterIn(ctx, tx, c)
		if err != nil {
			return err
		}
		settings, err := readInviteSettings(ctx, tx, tenantID)
		if err != nil {
			return err
		}
		if err := refused(CanInvite(settings, who, in.Email)); err != nil {
			return err
		}
		if in.UserType == "Member" {
			if err := refused(InviteMember(who)); err != nil {
				return err
			}
		}
		if err := s.countInvitation(ctx, tx, tenantID); err != nil {
			return err
		}
		if err := checkSponsors(ctx, tx, tenantID, in.Sponsors); err != nil {
			return err
		}
		var (
			guest directory.Object
			isNew bool
		)
		activity := directory.ActivityInviteExternalUser
		if in.Reset {
			activity = directory.ActivityInviteExternalUserReset
			guest, err = s.resetGuest(ctx, tx, tenantID, in)
		} else {
			guest, isNew, err = s.guestFor(ctx, tx, tenantID, in, c)
		}
		if err != nil {
			return err
		}
		invitationID := s.newID()
		secret, err := s.issueTicket(ctx, tx, tenantID, !isNew, ticket{InvitationID: invitationID, UserID: guest.ID,
			Email: in.Email, RedirectURL: in.RedirectURL, InviterName: inviterName})
		if err != nil {
			return err
		}
		redeemURL := s.publicURL + "/redeem?ticket=" + secret
		status := statePending
		if str(guest.Doc, "externalUserState") == stateAccepted {
			status = "Completed"
		}
		directory.Note(tx, tenantID, audit.DirectoryAudit{ActivityDisplayName: activity, Category: audit.CategoryUserManagement,
			LoggedByService: loggedBy, OperationType: "Invite",
			TargetResources: []audit.TargetResource{{ID: guest.ID, DisplayName: str(guest.Doc, "displayName"),
				UserPrincipalName: str(guest.Doc, "userPrincipalName"), Type: "User"}},
			AdditionalDetails: []audit.KeyValue{{Key: "invitationId", Value: invitationID}, {Key: "invitedUserEmailAddress", Value: in.Email}}})
		if in.Send {
			org := brand.TenantName
			msg, err := renderInvitation(invitationEmail{Lang: lang, Org: org, Color: brand.BackgroundColor, Inviter: orDefault(inviterName, org),
				To: in.Email, ToName: in.DisplayName, Cc: in.Cc, CustomBody: in.CustomBody, RedeemURL: redeemURL,
				MessageID: s.messageID()})
			if err != nil {
				return err
			}
			msg.Report.Kind, msg.Report.TenantID, msg.Report.ObjectID = "invitation", tenantID, guest.ID
			if err := s.mailer.Enqueue(ctx, tx, tenantID, msg); err != nil {
				return err
			}
		}
		out = invitationDoc(invitationID, in, guest, redeemURL, status)
		return nil
	})
	return out, err
}

// refused turns a refusal into the caller's error: who may invite is a
// matter of privilege, the domain lists of the request.
func refused(d Decision) error {
	if d.Allowed {
		return nil
	}
	if d.Rule == RuleAllowedDomain || d.Rule == RuleBlockedDomain {
		return usererr.WithCode(usererr.Invalid, "Request_BadRequest", "%s", d.Reason)
	}
	return usererr.New(usererr.Forbidden, "%s", d.Reason)
}

// inviterIn reads who the caller is as the invite decision sees them,
// and the name the invitation email gives the inviter.
func inviterIn(ctx context.Context, tx store.Tx, c caller.Caller) (Inviter, string, error) {
	if c.AppOnly {
		sp, err := tx.GetObject(ctx, c.TenantID, directory.KindServicePrincipal, c.ObjectID)
		if err != nil && !errors.Is(err, store.ErrNotFound) {
			return Inviter{}, "", err
		}
		return Inviter{App: true}, sp.DisplayName, nil
	}
	u, err := tx.GetObject(ctx, c.TenantID, directory.KindUser, c.ObjectID)
	if errors.Is(err, store.ErrNotFound) {
		return Inviter{}, "", usererr.New(usererr.Forbidden, "Insufficient privileges to complete the operation.")
	}
	if err != nil {
		return Inviter{}, "", err
	}
	d, err := directory.DecodeBody(u.Data)
	if err != nil {
		return Inviter{}, "", err
	}
	userType := str(d, "userType")
	if userType == "" {
		userType = "Member"
	}
	return Inviter{UserType: userType, Roles: c.DirectoryRoles}, u.DisplayName, nil
}

// checkReset applies who may reset a redemption: a reset decides who signs
// in as the account, so an application may not reset an account holding
// directory roles, and a signed-in inviter may reset one only if they may
// change its sign-in identities.
func (s *Service) checkReset(ctx context.Context, c caller.Caller, tenantID, userID string) error {
	roles, err := s.dir.DirectoryRolesOf(ctx, tenantID, userID)
	if err != nil || len(roles) == 0 {
		return err
	}
	if c.AppOnly {
		return usererr.New(usererr.Forbidden, "An application cannot reset the redemption status of a user who holds directory roles.")
	}
	if d := authz.ChangeUser(c, authz.UserTarget{Roles: roles}, authz.UserChange{Properties: []string{"identities"}}); !d.Allowed {
		return usererr.New(usererr.Forbidden, "Insufficient privileges to reset the redemption status of this user.")
	}
	return nil
}

// countInvitation counts an invitation against the tenant's rate, under
// the counter's lock so that nodes inviting at once cannot both pass the
// limit. A window that ends while the counter's lock is awaited is no
// longer live when written: the invitation then counts in a new window,
// on the second try.
func (s *Service) countInvitation(ctx context.Context, tx store.Tx, tenantID string) error {
	for try := 0; ; try++ {
		err := s.countInWindow(ctx, tx, tenantID)
		if !errors.Is(err, store.ErrNotFound) || try > 0 {
			return err
		}
	}
}

func (s *Service) countInWindow(ctx context.Context, tx store.Tx, tenantID string) error {
	now := s.now().UTC()
	var n struct {
		Count int `json:"n"`
	}
	st, err := store.LockJSON(ctx, tx, store.State{TenantID: tenantID, Kind: rateKind, ID: "invitations", Data: []byte(`{"n":0}`),
		CreatedAt: now, ExpiresAt: now.Add(rateWindow)}, &n)
	if err != nil {
		return err
	}
	if n.Count >= rateLimit {
		return usererr.Throttled(st.ExpiresAt.Sub(now), "Too many invitations were sent by this organization. Retry after the interval in the Retry-After header.")
	}
	n.Count++
	return store.UpdateJSON(ctx, tx, st, n, st.ExpiresAt)
}

func checkSponsors(ctx context.Context, tx store.Tx, tenantID string, ids []string) error {
	for _, id := range ids {
		_, err := tx.GetObject(ctx, tenantID, directory.KindUser, id)
		if errors.Is(err, store.ErrNotFound) {
			_, err = tx.GetObject(ctx, tenantID, directory.KindGroup, id)
		}
		if errors.Is(err, store.ErrNotFound) {
			return usererr.New(usererr.Invalid, "The sponsor '%s' is not a user or group of the organization.", id)
		}
		if err != nil {
			return err
		}
	}
	return nil
}

// guestFor returns the guest an invitation is for: the pending or
// redeemed guest the address already belongs to (re-inviting it issues a
// new ticket), else a new guest user (isNew).
func (s *Service) guestFor(ctx context.Context, tx store.Tx, tenantID string, in invitation, c caller.Caller) (guest directory.Object, isNew bool, err error) {
	found, err := userByMail(ctx, tx, tenantID, in.Email)
	if err != nil {
		return directory.Object{}, false, err
	}
	if len(found) > 0 {
		switch str(found[0].Doc, "externalUserState") {
		case statePending, stateAccepted:
			return found[0], false, nil
		}
		return directory.Object{}, false, usererr.WithCode(usererr.Invalid, "Request_BadRequest",
			"A user of the organization already has the address %s; invite them with resetRedemption to make them a guest.", in.Email)
	}
	guest, err = s.newGuest(ctx, tx, tenantID, in, c)
	return guest, err == nil, err
}

// newGuest creates the guest user of an invitation, with its sponsors.
func (s *Service) newGuest(ctx context.Context, tx store.Tx, tenantID string, in invitation, c caller.Caller) (directory.Object, error) {
	initial, err := initialDomain(ctx, tx, tenantID)
	if err != nil {
		return directory.Object{}, err
	}
	upn := GuestUPN(in.Email, initial)
	local, _, _ := strings.Cut(upn, "@")
	if len(local) > 64 {
		return directory.Object{}, badRequest("The invited email address '%s' is too long to make a user principal name of.", in.Email)
	}
	name := in.DisplayName
	if name == "" {
		name, _, _ = strings.Cut(in.Email, "@")
	}
	body := directory.Doc{"accountEnabled": true, "displayName": name, "mail": in.Email, "otherMails": []any{in.Email},
		"mailNickname": local, "userPrincipalName": upn, "userType": in.UserType, "showInAddressList": false}
	system := directory.Doc{"creationType": "Invitation", "externalUserState": statePending,
		"externalUserStateChangeDateTime": s.timestamp()}
	guest, err := s.dir.InsertUser(ctx, tx, tenantID, body, system)
	if err != nil {
		return directory.Object{}, err
	}
	sponsors := in.Sponsors
	if len(sponsors) == 0 && !c.AppOnly {
		sponsors = []string{c.ObjectID}
	}
	for _, id := range sponsors {
		if err := tx.AddLink(ctx, tenantID, store.Link{SourceID: guest.ID, Rel: directory.RelSponsors, TargetID: id}); err != nil {
			return directory.Object{}, err
		}
	}
	return guest, nil
}

// resetGuest makes a user pending again for a new redemption: its id, UPN,
// memberships and assignments stay; the identity it redeemed with no
// longer signs in, and every session and token it holds ends.
func (s *Service) resetGuest(ctx context.Context, tx store.Tx, tenantID string, in invitation) (directory.Object, error) {
	cur, err := tx.GetObject(ctx, tenantID, directory.KindUser, in.UserID)
	if errors.Is(err, store.ErrNotFound) {
		return directory.Object{}, usererr.New(usererr.NotFound, "Resource '%s' does not exist or one of its queried reference-property objects are not present.", in.UserID)
	}
	if err != nil {
		return directory.Object{}, err
	}
	d, err := directory.DecodeBody(cur.Data)
	if err != nil {
		return directory.Object{}, err
	}
	others, err := userByMail(ctx, tx, tenantID, in.Email)
	if err != nil {
		return directory.Object{}, err
	}
	for _, o := range others {
		if o.ID != cur.ID {
			return directory.Object{}, usererr.Taken("mail")
		}
	}
	if _, err := tx.DeleteExternalIdentities(ctx, tenantID, cur.ID); err != nil {
		return directory.Object{}, err
	}
	set := directory.Doc{"externalUserState": statePending, "externalUserStateChangeDateTime": s.timestamp(),
		"identities": []any{}, "mail": in.Email, "otherMails": withAddress(d["otherMails"], in.Email)}
	if str(d, "creationType") == "" {
		set["creationType"] = "Invitation"
	}
	return s.dir.SetUserProperties(ctx, tx, tenantID, cur.ID, set, true)
}

func withAddress(list any, addr string) []any {
	out, _ := list.([]any)
	for _, e := range out {
		if s, _ := e.(string); strings.EqualFold(s, addr) {
			return out
		}
	}
	return append(append([]any{}, out...), addr)
}

// mailSchema filters users by their folded mail key.
var mailSchema = &odata.Schema{Resource: "User", Properties: map[string]odata.Property{
	"mail": {Name: "mail", Type: odata.TypeString, Column: "mail", Folded: true, Ops: []string{"eq"}},
}}

// userByMail finds the live users whose mail is addr (at most a few).
func userByMail(ctx context.Context, tx store.Tx, tenantID, addr string) ([]directory.Object, error) {
	p, err := tx.ListObjects(ctx, tenantID, directory.KindUser, store.Query{Schema: mailSchema, Top: 2,
		Filter: odata.Compare{Op: "eq", Property: odata.Path{Segments: []string{"mail"}}, Value: odata.Literal{Kind: odata.LitString, Text: strings.ToLower(addr)}}})
	if err != nil {
		return nil, err
	}
	out := make([]directory.Object, 0, len(p.Objects))
	for _, o := range p.Objects {
		d, err := directory.DecodeBody(o.Data)
		if err != nil {
			return nil, err
		}
		out = append(out, directory.Object{Kind: o.Kind, ID: o.ID, Version: o.Version, Doc: d})
	}
	return out, nil
}

func initialDomain(ctx context.Context, tx store.Tx, tenantID string) (string, error) {
	doms, err := tx.ListDomains(ctx, tenantID)
	if err != nil {
		return "", err
	}
	for _, d := range doms {
		if d.Initial {
			return d.Name, nil
		}
	}
	return "", errors.New("b2b: tenant " + tenantID + " has no initial domain")
}

// invitationDoc is the invitation resource POST /invitations answers.
func invitationDoc(id string, in invitation, guest directory.Object, redeemURL, status string) directory.Doc {
	cc := make([]any, 0, len(in.Cc))
	for _, a := range in.Cc {
		var name any
		if a.Name != "" {
			name = a.Name
		}
		cc = append(cc, map[string]any{"emailAddress": map[string]any{"name": name, "address": a.Address}})
	}
	info := map[string]any{"customizedMessageBody": nil, "messageLanguage": nil, "ccRecipients": cc}
	if in.HasCustomBody {
		info["customizedMessageBody"] = in.CustomBody
	}
	if in.Language != "" {
		info["messageLanguage"] = in.Language
	}
	sponsors := make([]any, 0, len(in.Sponsors))
	for _, sp := range in.Sponsors {
		sponsors = append(sponsors, map[string]any{"id": sp})
	}
	var displayName any
	if in.DisplayName != "" {
		displayName = in.DisplayName
	}
	return directory.Doc{
		"id":                      id,
		"invitedUserEmailAddress": in.Email,
		"invitedUserDisplayName":  displayName,
		"invitedUserType":         str(guest.Doc, "userType"),
		"inviteRedirectUrl":       in.RedirectURL,
		"inviteRedeemUrl":         redeemURL,
		"sendInvitationMessage":   in.Send,
		"resetRedemption":         in.Reset,
		"status":                  status,
		"invitedUserMessageInfo":  info,
		"invitedUser":             map[string]any{"id": guest.ID},
		"invitedUserSponsors":     sponsors,
	}
}

func str(d directory.Doc, name string) string {
	v, _ := d[name].(string)
	return v
}

func orDefault(v, def string) string {
	if v == "" {
		return def
	}
	return v
}

func (s *Service) timestamp() string { return s.now().UTC().Format(time.RFC3339) }

// messageID is a fresh Message-ID under the deployment's host.
func (s *Service) messageID() string {
	host := strings.TrimPrefix(strings.TrimPrefix(s.publicURL, "https://"), "http://")
	host, _, _ = strings.Cut(host, "/")
	host, _, _ = strings.Cut(host, ":")
	return "<" + s.newID() + "@" + host + ">"
}
