package admin

import (
	"encoding/json"
	"net/http"
	"net/url"
	"strings"

	"github.com/gatehouse-id/gatehouse/internal/directory"
	"github.com/gatehouse-id/gatehouse/internal/usererr"
	"github.com/gatehouse-id/gatehouse/internal/xtap"
)

// The cross-tenant access page edits the default and partner
// configurations through xtap.Service with the PATCH bodies Graph takes,
// and runs the what-if through B2B, as POST …/evaluate does.
const xtapRoute = "/v1.0/policies/crossTenantAccessPolicy"

func (c *Console) registerCrossTenant(mux *http.ServeMux) {
	mux.Handle("GET /admin/{tenant}/crosstenant", c.session(c.crossTenant))
	mux.Handle("POST /admin/{tenant}/crosstenant/default", c.session(c.patchDefault))
	mux.Handle("POST /admin/{tenant}/crosstenant/partners", c.session(c.addPartner))
	mux.Handle("POST /admin/{tenant}/crosstenant/partners/{partner}", c.session(c.patchPartner))
	mux.Handle("POST /admin/{tenant}/crosstenant/partners/{partner}/delete", c.session(c.deletePartner))
	mux.Handle("POST /admin/{tenant}/crosstenant/whatif", c.session(c.whatIf))
}

// crossTenantPage is the page's data.
type crossTenantPage struct {
	Default  settingsView
	Partners []settingsView
	CanWrite bool
	// WhatIf is the what-if's form as last posted and its answer.
	WhatIf       url.Values
	WhatIfResult *whatIfView
}

// settingsView summarises one configuration as the form shows it.
type settingsView struct {
	TenantID, Name                   string
	Inbound, Outbound, Trust, Redeem string
}

type whatIfView struct {
	Decision, DecidingLayer string
	Layers                  []xtap.LayerResult
}

// summary describes a B2B setting: who and which applications it
// allows or blocks; nil is inherited from the default.
func summary(s *xtap.B2BSetting, loc func(string, ...any) string) string {
	if s == nil {
		return loc("xtap.inherited")
	}
	part := func(t *xtap.TargetConfiguration) string {
		if t == nil {
			return loc("xtap.inherited")
		}
		var names []string
		for _, x := range t.Targets {
			names = append(names, x.Target)
		}
		return loc("xtap.access."+t.AccessType) + ": " + strings.Join(names, ", ")
	}
	return part(s.UsersAndGroups) + "; " + part(s.Applications)
}

// xtapAdmits: the page is offered to the caller (an administrator Graph
// lets read the settings) and Graph admits them to method path; otherwise
// it answers 403.
func (c *Console) xtapAdmits(v *visit, method, path string) bool {
	if c.cfg.CrossTenant == nil || !isAdmin(v.p) || !c.admits(v, "GET", xtapRoute+"/default") || !c.admits(v, method, path) {
		c.forbidden(v)
		return false
	}
	return true
}

func (c *Console) crossTenant(v *visit) {
	if c.xtapAdmits(v, "GET", xtapRoute+"/partners") {
		c.crossTenantView(v, http.StatusOK, "", nil, nil)
	}
}

func (c *Console) crossTenantView(v *visit, status int, problem string, form url.Values, result *whatIfView) {
	loc := c.locale(v.r).T
	def, err := c.cfg.CrossTenant.Default(v.ctx, v.tenantID)
	if err != nil {
		c.failPage(v.w, v.r, err)
		return
	}
	partners, err := c.cfg.CrossTenant.Partners(v.ctx, v.tenantID, false)
	if err != nil {
		c.failPage(v.w, v.r, err)
		return
	}
	pg := crossTenantPage{CanWrite: c.admits(v, "PATCH", xtapRoute+"/default"), WhatIf: form, WhatIfResult: result,
		Default: settingsView{Inbound: summary(def.B2BCollaborationInbound, loc), Outbound: summary(def.B2BCollaborationOutbound, loc), Trust: trust(def.InboundTrust, loc)}}
	for _, p := range partners {
		sv := settingsView{TenantID: p.TenantID, Inbound: summary(p.B2BCollaborationInbound, loc), Outbound: summary(p.B2BCollaborationOutbound, loc),
			Trust: trust(p.InboundTrust, loc), Redeem: redeem(p.AutomaticUserConsentSettings, loc)}
		if info, err := c.cfg.Directory.FindTenantByID(v.ctx, p.TenantID); err == nil {
			sv.Name = info.DisplayName
		}
		pg.Partners = append(pg.Partners, sv)
	}
	if pg.WhatIf == nil {
		pg.WhatIf = url.Values{}
	}
	vw := c.layout(v, "xtap.title")
	vw.Error = problem
	vw.Page = pg
	c.render(v.w, v.r, status, "crosstenant", vw)
}

func trust(t *xtap.InboundTrust, loc func(string, ...any) string) string {
	switch {
	case t == nil:
		return loc("xtap.inherited")
	case t.IsMfaAccepted:
		return loc("xtap.trust.mfa")
	}
	return loc("xtap.trust.none")
}

func redeem(s xtap.InboundOutbound, loc func(string, ...any) string) string {
	on := func(b *bool) string {
		if b != nil && *b {
			return loc("yes")
		}
		return loc("no")
	}
	return loc("xtap.inbound") + ": " + on(s.InboundAllowed) + "; " + loc("xtap.outbound") + ": " + on(s.OutboundAllowed)
}

// settingsBody is the PATCH body a settings form asks for: each direction
// kept as it is, allowed or blocked for all users and applications, or (a
// partner's) inherited; MFA trust likewise; a partner's automatic
// redemption.
func settingsBody(f url.Values, partner bool) (map[string]any, error) {
	body := map[string]any{}
	for field, prop := range map[string]string{"inbound": "b2bCollaborationInbound", "outbound": "b2bCollaborationOutbound"} {
		switch f.Get(field) {
		case "", "keep":
		case "inherit":
			if !partner {
				return nil, usererr.New(usererr.Invalid, "The default settings inherit from nothing.")
			}
			body[prop] = nil
		case xtap.Allowed, xtap.Blocked:
			access := f.Get(field)
			body[prop] = map[string]any{
				"usersAndGroups": map[string]any{"accessType": access, "targets": []any{map[string]any{"target": xtap.AllUsers, "targetType": xtap.TargetTypeUser}}},
				"applications":   map[string]any{"accessType": access, "targets": []any{map[string]any{"target": xtap.AllApplications, "targetType": xtap.TargetTypeApplication}}},
			}
		default:
			return nil, usererr.New(usererr.Invalid, "'%s' is not a choice for %s.", f.Get(field), field)
		}
	}
	switch f.Get("trust") {
	case "", "keep":
	case "inherit":
		if !partner {
			return nil, usererr.New(usererr.Invalid, "The default settings inherit from nothing.")
		}
		body["inboundTrust"] = nil
	case "mfa", "none":
		body["inboundTrust"] = map[string]any{"isMfaAccepted": f.Get("trust") == "mfa", "isCompliantDeviceAccepted": false, "isHybridAzureADJoinedDeviceAccepted": false}
	default:
		return nil, usererr.New(usererr.Invalid, "'%s' is not a choice for trust.", f.Get("trust"))
	}
	if partner && f.Has("redeemForm") {
		body["automaticUserConsentSettings"] = map[string]any{"inboundAllowed": f.Get("redeemIn") == "on", "outboundAllowed": f.Get("redeemOut") == "on"}
	}
	return body, nil
}

func (c *Console) patchDefault(v *visit) {
	if !c.xtapAdmits(v, "PATCH", xtapRoute+"/default") {
		return
	}
	body, err := settingsBody(v.r.PostForm, false)
	if err == nil {
		err = c.patch(func(b []byte) error { return c.cfg.CrossTenant.PatchDefault(v.ctx, v.tenantID, b) }, body)
	}
	c.afterCrossTenant(v, err)
}

func (c *Console) patch(apply func([]byte) error, body map[string]any) error {
	if len(body) == 0 {
		return nil
	}
	b, err := json.Marshal(body)
	if err != nil {
		return err
	}
	return apply(b)
}

// afterCrossTenant shows the page again after a change: the refusal, or
// the page itself (a redirect, so a reload does not post again).
func (c *Console) afterCrossTenant(v *visit, err error) {
	if err != nil {
		c.refused(v, err, func(status int, problem string) { c.crossTenantView(v, status, problem, nil, nil) })
		return
	}
	http.Redirect(v.w, v.r, "/admin/"+v.tenantID+"/crosstenant", http.StatusSeeOther)
}

// partnerTenant reads the partner named in the form: a tenant id, or a
// domain some tenant of this deployment verified (looked up as
// findTenantInformationByDomainName does).
func (c *Console) partnerTenant(v *visit, s string) (string, error) {
	s = strings.TrimSpace(s)
	if directory.IsGUID(s) {
		return strings.ToLower(s), nil
	}
	if !c.admits(v, "GET", "/v1.0/tenantRelationships/findTenantInformationByDomainName(domainName='"+url.PathEscape(s)+"')") {
		return "", usererr.New(usererr.Forbidden, "Name the tenant by its id: looking tenants up by domain is not among your permissions.")
	}
	info, err := c.cfg.Directory.FindTenantByDomain(v.ctx, s)
	return info.TenantID, err
}

func (c *Console) addPartner(v *visit) {
	if !c.xtapAdmits(v, "POST", xtapRoute+"/partners") {
		return
	}
	id, err := c.partnerTenant(v, v.r.PostForm.Get("partner"))
	if err == nil {
		var body map[string]any
		if body, err = settingsBody(v.r.PostForm, true); err == nil {
			body["tenantId"] = id
			err = c.patch(func(b []byte) error { _, err := c.cfg.CrossTenant.CreatePartner(v.ctx, v.tenantID, b); return err }, body)
		}
	}
	c.afterCrossTenant(v, err)
}

func (c *Console) patchPartner(v *visit) {
	partner := v.r.PathValue("partner")
	if !c.xtapAdmits(v, "PATCH", xtapRoute+"/partners/"+url.PathEscape(partner)) {
		return
	}
	body, err := settingsBody(v.r.PostForm, true)
	if err == nil {
		err = c.patch(func(b []byte) error { return c.cfg.CrossTenant.PatchPartner(v.ctx, v.tenantID, partner, b) }, body)
	}
	c.afterCrossTenant(v, err)
}

func (c *Console) deletePartner(v *visit) {
	partner := v.r.PathValue("partner")
	if !c.xtapAdmits(v, "DELETE", xtapRoute+"/partners/"+url.PathEscape(partner)) {
		return
	}
	c.afterCrossTenant(v, c.cfg.CrossTenant.DeletePartner(v.ctx, v.tenantID, partner))
}

// whatIf asks how a sign-in would be decided, and shows every layer's
// decision, rule and reason (xtap's explanation, as the CLI and Graph's
// …/evaluate show it).
func (c *Console) whatIf(v *visit) {
	if c.cfg.B2B == nil || !c.xtapAdmits(v, "POST", xtapRoute+"/evaluate") {
		return
	}
	f := v.r.PostForm
	req := map[string]any{"accessType": string(xtap.B2BCollaboration)}
	if home := strings.TrimSpace(f.Get("home")); home != "" {
		id, err := c.partnerTenant(v, home)
		if err != nil {
			c.refused(v, err, func(status int, problem string) { c.crossTenantView(v, status, problem, f, nil) })
			return
		}
		req["homeTenantId"] = id
	}
	for field, prop := range map[string]string{"user": "userId", "email": "invitedUserEmailAddress", "app": "appId"} {
		if s := strings.TrimSpace(f.Get(field)); s != "" {
			req[prop] = s
		}
	}
	b, err := json.Marshal(req)
	if err != nil {
		c.internalError(v.w, v.r, err)
		return
	}
	q, err := xtap.ParseWhatIf(b)
	var res xtap.Result
	if err == nil {
		res, err = c.cfg.B2B.WhatIf(v.ctx, v.tenantID, q)
	}
	if err != nil {
		c.refused(v, err, func(status int, problem string) { c.crossTenantView(v, status, problem, f, nil) })
		return
	}
	c.crossTenantView(v, http.StatusOK, "", f, &whatIfView{Decision: res.Decision, DecidingLayer: res.DecidingLayer, Layers: res.Layers()})
}
