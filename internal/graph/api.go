// Package graph is Gatehouse's management API shaped like Microsoft Graph
// v1.0: routing, OData query options, JSON serialization, Graph's error
// format and the permission each route needs. Domain rules live in the
// domain packages it calls.
package graph

import (
	"compress/gzip"
	"context"
	"crypto/cipher"
	"errors"
	"io"
	"log/slog"
	"mime"
	"net/http"
	"net/url"
	"slices"
	"strconv"
	"strings"

	"github.com/gatehouse-id/gatehouse/internal/b2b"
	"github.com/gatehouse-id/gatehouse/internal/csdl"
	"github.com/gatehouse-id/gatehouse/internal/directory"
	"github.com/gatehouse-id/gatehouse/internal/federation"
	"github.com/gatehouse-id/gatehouse/internal/mfa"
	"github.com/gatehouse-id/gatehouse/internal/odata"
	"github.com/gatehouse-id/gatehouse/internal/usererr"
	"github.com/gatehouse-id/gatehouse/internal/xtap"
)

// API serves /v1.0.
type API struct {
	dir       *directory.Service
	tokens    TokenVerifier
	publicURL string
	log       *slog.Logger
	dns       directory.TXTResolver
	policies  *b2b.Policies
	idps      *federation.Service
	// invitations is nil when the deployment does not serve B2B invitations.
	invitations Invitations
	skip        cipher.AEAD // seals $skiptokens
	// mfa is nil when the deployment serves no authentication methods.
	mfa *mfa.Service
	// crossTenant and whatIf are nil when the deployment serves no
	// cross-tenant access settings.
	crossTenant *xtap.Service
	whatIf      WhatIf
	// routes is the mux Register filled, which Admits consults.
	routes *http.ServeMux
}

// Config wires the API.
type Config struct {
	PublicURL string
	Logger    *slog.Logger
	DNS       directory.TXTResolver // for domain verification
	Policies  *b2b.Policies         // external collaboration policies
	// IdentityProviders serves /identity/identityProviders.
	IdentityProviders *federation.Service
	// Invitations serves POST /invitations (internal/b2b); unset, the
	// route is not served.
	Invitations Invitations
	// MFA serves users' authentication methods and the security defaults
	// policy (internal/mfa); unset, they are not served.
	MFA *mfa.Service
	// CrossTenantAccess serves /policies/crossTenantAccessPolicy and, with
	// WhatIf, its evaluate action; unset, they are not served.
	CrossTenantAccess *xtap.Service
	WhatIf            WhatIf
	// SkipTokenKey (32 bytes, the same on every node) seals paging
	// cursors into $skiptokens; unset, a key of this process.
	SkipTokenKey []byte
}

// New returns the API.
func New(dir *directory.Service, tokens TokenVerifier, cfg Config) *API {
	return &API{dir: dir, tokens: tokens, publicURL: strings.TrimSuffix(cfg.PublicURL, "/"), log: cfg.Logger, dns: cfg.DNS,
		policies: cfg.Policies, idps: cfg.IdentityProviders, invitations: cfg.Invitations, mfa: cfg.MFA,
		crossTenant: cfg.CrossTenantAccess, whatIf: cfg.WhatIf, skip: newSkipAEAD(cfg.SkipTokenKey)}
}

const maxBody = 1 << 20

var (
	errBodyTooLarge = errors.New("request body too large")
	errEncoding     = errors.New("unsupported request body encoding or type")
)

// kindRoute is a collection of directory objects served the same way.
type kindRoute struct {
	path        string // "users"
	kind        string
	read, write permSet
	create      func(ctx context.Context, tenantID string, body directory.Doc) (directory.Object, error)
	update      func(ctx context.Context, tenantID, id string, body directory.Doc, ifMatch int64) error
}

// Register adds the API's routes to mux.
func (a *API) Register(mux *http.ServeMux) {
	a.routes = mux
	d := a.dir
	routes := []kindRoute{
		{"users", directory.KindUser, readUsers, writeUsers, d.CreateUser, d.UpdateUser},
		{"groups", directory.KindGroup, readGroups, writeGroups, d.CreateGroup, d.UpdateGroup},
		{"applications", directory.KindApplication, readApps, writeApps, d.CreateApplication, d.UpdateApplication},
		{"servicePrincipals", directory.KindServicePrincipal, readApps, writeApps, d.CreateServicePrincipal, d.UpdateServicePrincipal},
	}
	for _, rt := range routes {
		base := "/v1.0/" + rt.path
		mux.Handle("GET "+base, a.require(rt.read, a.list(rt)))
		mux.Handle("POST "+base, a.require(rt.write, a.create(rt)))
		mux.Handle("GET "+base+"/$count", a.require(rt.read, a.count(rt)))
		mux.Handle("GET "+base+"/{id}", a.require(rt.read, a.get(rt)))
		mux.Handle("PATCH "+base+"/{id}", a.require(rt.write, a.update(rt)))
		mux.Handle("DELETE "+base+"/{id}", a.require(rt.write, a.delete(rt)))
	}
	for _, rt := range routes[:2] {
		mux.Handle("GET /v1.0/"+rt.path+"/delta", a.require(rt.read, a.delta(rt)))
		mux.Handle("GET /v1.0/"+rt.path+"/{id}/memberOf", a.require(rt.read, a.related(directory.Relation{Kind: rt.kind, Rel: directory.RelMembers, Reverse: true})))
	}
	// A guest's sponsors: the inviter, or the users and groups the
	// invitation named.
	mux.Handle("GET /v1.0/users/{id}/sponsors", a.require(readUsers, a.related(directory.Relation{Kind: directory.KindUser, Rel: directory.RelSponsors})))
	for rel, write := range map[string]permSet{directory.RelMembers: writeGroupMembers, directory.RelOwners: writeGroups} {
		mux.Handle("GET /v1.0/groups/{id}/"+rel, a.require(readGroups, a.related(directory.Relation{Kind: directory.KindGroup, Rel: rel})))
		mux.Handle("POST /v1.0/groups/{id}/"+rel+"/$ref", a.require(write, a.addRef(rel)))
		mux.Handle("DELETE /v1.0/groups/{id}/"+rel+"/{ref}/$ref", a.require(write, a.removeRef(rel)))
	}
	for _, kind := range []string{directory.KindApplication, directory.KindServicePrincipal} {
		base := "/v1.0/" + map[string]string{directory.KindApplication: "applications", directory.KindServicePrincipal: "servicePrincipals"}[kind] + "/{id}/owners"
		mux.Handle("GET "+base, a.require(readApps, a.related(directory.Relation{Kind: kind, Rel: directory.RelOwners})))
		mux.Handle("POST "+base+"/$ref", a.require(writeApps, a.bodyAction(func(r *http.Request, body directory.Doc) error {
			target, err := refTarget(body)
			if err != nil {
				return err
			}
			return a.dir.AddAppOwner(r.Context(), tenantOf(r), kind, r.PathValue("id"), target)
		})))
		mux.Handle("DELETE "+base+"/{ref}/$ref", a.require(writeApps, a.action(func(r *http.Request) error {
			return a.dir.RemoveAppOwner(r.Context(), tenantOf(r), kind, r.PathValue("id"), r.PathValue("ref"))
		})))
	}
	mux.Handle("POST /v1.0/applications/{id}/addPassword", a.require(writeApps, a.addPassword))
	mux.Handle("POST /v1.0/applications/{id}/removePassword", a.require(writeApps, a.bodyAction(a.removePassword)))
	mux.Handle("GET /v1.0/servicePrincipals/{id}/appRoleAssignedTo", a.require(readApps, a.appRoleAssignments(directory.KindServicePrincipal, false)))
	mux.Handle("POST /v1.0/servicePrincipals/{id}/appRoleAssignedTo", a.require(assignAppRoles, a.assignAppRole("servicePrincipals", false)))
	mux.Handle("DELETE /v1.0/servicePrincipals/{id}/appRoleAssignedTo/{aid}", a.require(assignAppRoles, a.action(a.unassignAppRole)))
	// A principal's own assignments: of a service principal, user or group.
	for _, p := range []struct {
		path, kind string
		read       permSet
	}{{"servicePrincipals", directory.KindServicePrincipal, readApps}, {"users", directory.KindUser, readUsers}, {"groups", directory.KindGroup, readGroups}} {
		base := "/v1.0/" + p.path + "/{id}/appRoleAssignments"
		mux.Handle("GET "+base, a.require(p.read, a.appRoleAssignments(p.kind, true)))
		mux.Handle("POST "+base, a.require(assignAppRoles, a.assignAppRole(p.path, true)))
		mux.Handle("DELETE "+base+"/{aid}", a.require(assignAppRoles, a.action(a.unassignAppRole)))
	}
	mux.Handle("GET /v1.0/directoryObjects/{id}", a.require(readObjects, a.directoryObject))
	grants := kindRoute{"oauth2PermissionGrants", directory.KindPermissionGrant, readGrants, writeGrants, d.CreatePermissionGrant, d.UpdatePermissionGrant}
	mux.Handle("GET /v1.0/oauth2PermissionGrants", a.require(grants.read, a.list(grants)))
	mux.Handle("POST /v1.0/oauth2PermissionGrants", a.require(grants.write, a.create(grants)))
	mux.Handle("GET /v1.0/oauth2PermissionGrants/{id}", a.require(grants.read, a.get(grants)))
	mux.Handle("PATCH /v1.0/oauth2PermissionGrants/{id}", a.require(grants.write, a.update(grants)))
	mux.Handle("DELETE /v1.0/oauth2PermissionGrants/{id}", a.require(grants.write, a.delete(grants)))
	mux.Handle("GET /v1.0/me", a.authenticate(http.HandlerFunc(a.me)))
	mux.Handle("POST /v1.0/users/{id}/revokeSignInSessions", a.require(writeUsers, func(w http.ResponseWriter, r *http.Request) {
		if err := a.dir.RevokeSignInSessions(r.Context(), tenantOf(r), r.PathValue("id")); err != nil {
			a.fail(w, r, err)
			return
		}
		writeJSON(w, http.StatusOK, map[string]any{"@odata.context": a.publicURL + "/v1.0/$metadata#Edm.Boolean", "value": true})
	}))
	if a.invitations != nil {
		mux.Handle("POST /v1.0/invitations", a.require(inviteUsers, a.invite))
	}
	a.registerTenantRoutes(mux)
	a.registerRoleRoutes(mux)
	a.registerDeletedItems(mux)
	a.registerAuditLogs(mux)
	a.registerB2BPolicies(mux)
	a.registerTenantRelationships(mux)
	a.registerCrossTenantAccess(mux)
	a.registerIdentityProviders(mux)
	a.registerAuthMethods(mux)
	a.registerURLForms(mux)
	a.registerReads(mux)
	// As Graph's, the schema is public and the other version answers
	// before authentication.
	mux.HandleFunc("GET /v1.0/$metadata", func(w http.ResponseWriter, r *http.Request) {
		w.Header().Set("Content-Type", "application/xml;charset=utf-8")
		_, _ = w.Write(csdl.Document())
	})
	beta := func(w http.ResponseWriter, r *http.Request) {
		writeError(w, r, http.StatusBadRequest, "BadRequest", "Invalid version: beta. This service implements Microsoft Graph v1.0 only.")
	}
	mux.HandleFunc("/beta", beta)
	mux.HandleFunc("/beta/", beta)
	mux.Handle("POST /v1.0/$batch", a.authenticate(a.batch(mux)))
	mux.Handle("/v1.0/", a.authenticate(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		writeError(w, r, http.StatusBadRequest, "BadRequest", "Resource not found for the segment '"+lastSegment(r.URL.Path)+"'.")
	})))
}

func lastSegment(p string) string {
	p = strings.TrimSuffix(p, "/")
	return p[strings.LastIndex(p, "/")+1:]
}

func tenantOf(r *http.Request) string { return principalFrom(r.Context()).TenantID }

// readBody reads a JSON request body. Graph SDKs gzip bodies by default, so
// gzip is accepted; the limit applies after decompression, so a small
// compressed bomb cannot expand without bound.
func readBody(r *http.Request) (directory.Doc, error) {
	b, err := readRawBody(r)
	if err != nil {
		return nil, err
	}
	return directory.DecodeBody(b)
}

// readRawBody reads a JSON request body, unzipped, for a domain package
// that parses it itself.
func readRawBody(r *http.Request) ([]byte, error) {
	if ct := r.Header.Get("Content-Type"); ct != "" {
		if mt, _, err := mime.ParseMediaType(ct); err != nil || mt != "application/json" {
			return nil, errEncoding
		}
	}
	body := io.Reader(r.Body)
	switch strings.ToLower(strings.TrimSpace(r.Header.Get("Content-Encoding"))) {
	case "", "identity":
	case "gzip":
		zr, err := gzip.NewReader(r.Body)
		if err != nil {
			return nil, directory.ErrUnreadableBody
		}
		defer zr.Close()
		body = zr
	default:
		return nil, errEncoding
	}
	b, err := io.ReadAll(io.LimitReader(body, maxBody+1))
	if err != nil {
		return nil, directory.ErrUnreadableBody
	}
	if len(b) > maxBody {
		return nil, errBodyTooLarge
	}
	return b, nil
}

func ifMatch(r *http.Request) (int64, error) {
	v := r.Header.Get("If-Match")
	if v == "" {
		return 0, nil
	}
	return directory.ParseETag(v)
}

// listOptions are the OData options of a collection request.
type listOptions struct {
	query    directory.Query
	sel      []string
	advanced bool
	// expand names the navigation properties to expand, and search is
	// $search; handlers that serve neither refuse them (see refuseExpand).
	expand []string
	search directory.Search
}

func parseListOptions(r *http.Request, kind string) (listOptions, error) {
	q := r.URL.Query()
	var o listOptions
	o.advanced = strings.EqualFold(r.Header.Get("ConsistencyLevel"), "eventual")
	for name := range q {
		switch strings.ToLower(name) {
		case "$filter", "$select", "$top", "$orderby", "$count", "$skiptoken", "$deltatoken":
		case "$search":
			if !o.advanced {
				return o, usererr.WithCode(usererr.Invalid, "Request_UnsupportedQuery", "Request with $search query parameter only works through MSGraph with a special request header: 'ConsistencyLevel: eventual'")
			}
		case "$expand":
		case "$skip", "$format":
			return o, usererr.WithCode(usererr.Invalid, "Request_BadRequest", "The query option '%s' is not supported.", name)
		default:
			if strings.HasPrefix(name, "$") {
				return o, usererr.WithCode(usererr.Invalid, "Request_BadRequest", "Unknown query option '%s'.", name)
			}
		}
	}
	get := func(name string) string { return queryOption(q, name) }
	var err error
	if v := get("$search"); v != "" {
		if o.search, err = directory.ParseSearch(kind, v); err != nil {
			return o, err
		}
	}
	if x := get("$expand"); x != "" {
		if o.expand, err = parseExpand(x, kind); err != nil {
			return o, err
		}
	}
	if f := get("$filter"); f != "" {
		if o.query.Filter, err = odata.ParseFilter(f); err != nil {
			return o, odataError(err)
		}
	}
	if s := get("$select"); s != "" {
		if o.sel, err = odata.ParseSelect(s); err != nil {
			return o, odataError(err)
		}
		if err := directory.CheckSelect(kind, o.sel); err != nil {
			return o, err
		}
	}
	if ob := get("$orderby"); ob != "" {
		if o.query.OrderBy, err = odata.ParseOrderBy(ob); err != nil {
			return o, odataError(err)
		}
	}
	o.query.Top = 100
	if t := get("$top"); t != "" {
		if o.query.Top, err = odata.ParseTop(t); err != nil {
			return o, odataError(err)
		}
	}
	switch strings.ToLower(get("$count")) {
	case "", "false":
	case "true":
		// Without the header Graph ignores $count=true rather than failing.
		o.query.Count = o.advanced
	default:
		return o, usererr.WithCode(usererr.Invalid, "Request_BadRequest", "$count must be true or false.")
	}
	// Advanced queries need both the header and $count=true.
	o.query.Advanced = o.advanced && o.query.Count
	if o.query.Cursor, err = skipCursor(r); err != nil {
		return o, err
	}
	return o, nil
}

// queryOption is the value of a query option, whatever the case of its
// name: Graph's docs spell $deltaToken and $skipToken, the SDKs lower-case.
func queryOption(q url.Values, name string) string {
	for k, v := range q {
		if strings.EqualFold(k, name) && len(v) > 0 {
			return v[0]
		}
	}
	return ""
}

// wholeOptions parses the options of a resource set served whole (see
// directory.ListWhole) and refuses, with Graph's 400, every option other
// than allowed: such a set is neither paged nor sorted, and an option
// silently ignored would hand a script the wrong object.
func wholeOptions(r *http.Request, kind string, allowed ...string) (listOptions, error) {
	for name := range r.URL.Query() {
		if strings.HasPrefix(name, "$") && !slices.ContainsFunc(allowed, func(a string) bool { return strings.EqualFold(a, name) }) {
			return listOptions{}, usererr.WithCode(usererr.Invalid, "Request_UnsupportedQuery", "The query option '%s' is not supported on this resource.", name)
		}
	}
	return parseListOptions(r, kind)
}

func odataError(err error) error {
	var qe *odata.Error
	if errors.As(err, &qe) {
		return usererr.WithCode(usererr.Invalid, qe.Code, "%s", qe.Message)
	}
	return err
}

// contextURL builds @odata.context for a collection, with $select if any.
func (a *API) contextURL(path string, sel []string) string {
	c := a.publicURL + "/v1.0/$metadata#" + path
	if len(sel) > 0 {
		c += "(" + strings.Join(sel, ",") + ")"
	}
	return c
}

// linkWith rebuilds the request URL with one query option replaced, for
// @odata.nextLink and @odata.deltaLink.
func (a *API) linkWith(r *http.Request, path string, set map[string]string) string {
	q := url.Values{}
	for k, v := range r.URL.Query() {
		switch strings.ToLower(k) {
		case "$skiptoken", "$deltatoken":
			continue
		}
		q[k] = v
	}
	for k, v := range set {
		if k == "$skiptoken" {
			v = a.sealSkipToken(r, v)
		}
		q.Set(k, v)
	}
	return a.publicURL + path + "?" + strings.NewReplacer("%24", "$", "%2C", ",").Replace(q.Encode())
}

func (a *API) present(w http.ResponseWriter, r *http.Request, objs []directory.Object, sel []string, typed bool) ([]any, bool) {
	out := make([]any, 0, len(objs))
	for _, o := range objs {
		doc, err := directory.Present(o, sel)
		if err != nil {
			a.fail(w, r, err)
			return nil, false
		}
		if typed {
			doc["@odata.type"] = "#microsoft.graph." + directory.TypeName(o.Kind)
		}
		out = append(out, doc)
	}
	return out, true
}

// action answers 204 when fn succeeds and Graph's error when it fails.
func (a *API) action(fn func(r *http.Request) error) http.HandlerFunc {
	return func(w http.ResponseWriter, r *http.Request) {
		if err := fn(r); err != nil {
			a.fail(w, r, err)
			return
		}
		w.WriteHeader(http.StatusNoContent)
	}
}

// bodyAction is an action that takes the request's JSON body.
func (a *API) bodyAction(fn func(r *http.Request, body directory.Doc) error) http.HandlerFunc {
	return a.action(func(r *http.Request) error {
		body, err := readBody(r)
		if err != nil {
			return err
		}
		return fn(r, body)
	})
}

func (a *API) list(rt kindRoute) http.HandlerFunc {
	return a.listing(rt, func(r *http.Request, q directory.Query) (directory.Page, error) {
		return a.dir.List(r.Context(), tenantOf(r), rt.kind, q)
	})
}

// searching serves a list with $search: matched in the directory, in id
// order, so $orderby is refused with it.
func (a *API) searching(r *http.Request, kind string, o listOptions) (directory.Page, error) {
	if len(o.query.OrderBy) > 0 {
		return directory.Page{}, usererr.WithCode(usererr.Invalid, "Request_UnsupportedQuery", "$orderby is not supported together with $search.")
	}
	return a.dir.SearchList(r.Context(), tenantOf(r), kind, o.search, o.query)
}

// listing serves a collection of directory objects that fetch pages through
// with every OData option the kind's schema allows.
func (a *API) listing(rt kindRoute, fetch func(r *http.Request, q directory.Query) (directory.Page, error)) http.HandlerFunc {
	return func(w http.ResponseWriter, r *http.Request) {
		o, err := parseListOptions(r, rt.kind)
		if err != nil {
			a.fail(w, r, err)
			return
		}
		var page directory.Page
		if o.search != nil {
			page, err = a.searching(r, rt.kind, o)
		} else {
			page, err = fetch(r, o.query)
		}
		if err == nil {
			err = a.dir.Hydrate(r.Context(), tenantOf(r), page.Objects, o.sel)
		}
		if err != nil {
			a.fail(w, r, err)
			return
		}
		values, ok := a.present(w, r, page.Objects, o.sel, false)
		if !ok {
			return
		}
		for i, v := range values {
			if err := a.expandInto(r, v.(directory.Doc), page.Objects[i], o.expand); err != nil {
				a.fail(w, r, err)
				return
			}
		}
		body := map[string]any{"@odata.context": a.contextURL(rt.path, o.sel), "value": values}
		if o.query.Count {
			body["@odata.count"] = page.Count
		}
		if page.Next != "" {
			body["@odata.nextLink"] = a.linkWith(r, r.URL.Path, map[string]string{"$skiptoken": page.Next})
		}
		writeJSON(w, http.StatusOK, body)
	}
}

func (a *API) count(rt kindRoute) http.HandlerFunc {
	return func(w http.ResponseWriter, r *http.Request) {
		if !strings.EqualFold(r.Header.Get("ConsistencyLevel"), "eventual") {
			writeError(w, r, http.StatusBadRequest, "Request_BadRequest", "$count is not currently supported.")
			return
		}
		o, err := parseListOptions(r, rt.kind)
		if err == nil {
			err = refuseExpand(o)
		}
		if err != nil {
			a.fail(w, r, err)
			return
		}
		o.query.Advanced = true
		n, err := a.dir.Count(r.Context(), tenantOf(r), rt.kind, o.query)
		if err != nil {
			a.fail(w, r, err)
			return
		}
		writeCount(w, n)
	}
}

// writeCount answers a $count segment: the number as plain text.
func writeCount(w http.ResponseWriter, n int64) {
	w.Header().Set("Content-Type", "text/plain;charset=utf-8")
	_, _ = io.WriteString(w, strconv.FormatInt(n, 10))
}

func (a *API) get(rt kindRoute) http.HandlerFunc {
	return func(w http.ResponseWriter, r *http.Request) {
		o, err := parseListOptions(r, rt.kind)
		if err != nil {
			a.fail(w, r, err)
			return
		}
		if o.search != nil {
			a.fail(w, r, refuseExpand(listOptions{search: o.search}))
			return
		}
		obj, err := a.dir.Get(r.Context(), tenantOf(r), rt.kind, r.PathValue("id"))
		if err == nil {
			err = a.dir.Hydrate(r.Context(), tenantOf(r), []directory.Object{obj}, o.sel)
		}
		if err != nil {
			a.fail(w, r, err)
			return
		}
		a.writeExpanded(w, r, http.StatusOK, rt.path, obj, o.sel, o.expand)
	}
}

func (a *API) writeEntity(w http.ResponseWriter, r *http.Request, status int, path string, obj directory.Object, sel []string) {
	a.writeExpanded(w, r, status, path, obj, sel, nil)
}

// writeExpanded is writeEntity with the navigation properties of expand.
func (a *API) writeExpanded(w http.ResponseWriter, r *http.Request, status int, path string, obj directory.Object, sel, expand []string) {
	doc, err := directory.Present(obj, sel)
	if err == nil {
		err = a.expandInto(r, doc, obj, expand)
	}
	if err != nil {
		a.fail(w, r, err)
		return
	}
	doc["@odata.context"] = a.contextURL(path, sel) + "/$entity"
	doc["@odata.etag"] = obj.ETag()
	w.Header().Set("ETag", obj.ETag())
	if status == http.StatusCreated {
		w.Header().Set("Location", a.publicURL+"/v1.0/"+path+"/"+obj.ID)
	}
	writeJSON(w, status, doc)
}

func (a *API) create(rt kindRoute) http.HandlerFunc {
	return func(w http.ResponseWriter, r *http.Request) {
		body, err := readBody(r)
		if err != nil {
			a.fail(w, r, err)
			return
		}
		obj, err := rt.create(r.Context(), tenantOf(r), body)
		if err != nil {
			a.fail(w, r, err)
			return
		}
		a.writeEntity(w, r, http.StatusCreated, rt.path, obj, nil)
	}
}

func (a *API) update(rt kindRoute) http.HandlerFunc {
	return a.bodyAction(func(r *http.Request, body directory.Doc) error {
		version, err := ifMatch(r)
		if err != nil {
			return err
		}
		return rt.update(r.Context(), tenantOf(r), r.PathValue("id"), body, version)
	})
}

func (a *API) delete(rt kindRoute) http.HandlerFunc {
	return a.action(func(r *http.Request) error {
		version, err := ifMatch(r)
		if err != nil {
			return err
		}
		return a.dir.Delete(r.Context(), tenantOf(r), rt.kind, r.PathValue("id"), version)
	})
}

func (a *API) delta(rt kindRoute) http.HandlerFunc {
	return func(w http.ResponseWriter, r *http.Request) {
		// Links repeat the request's own $select, members and all.
		selected, members := selectMembers(r, rt.kind)
		o, err := parseListOptions(selected, rt.kind)
		if err == nil {
			err = refuseExpand(o)
		}
		if err != nil {
			a.fail(w, r, err)
			return
		}
		if o.query.Filter != nil || len(o.query.OrderBy) > 0 {
			writeError(w, r, http.StatusBadRequest, "Request_UnsupportedQuery", "$filter and $orderby are not supported on delta queries.")
			return
		}
		token := o.query.Cursor
		if dt := queryOption(r.URL.Query(), "$deltatoken"); dt != "" {
			token = dt
		}
		page, err := a.dir.Delta(r.Context(), tenantOf(r), rt.kind, token, o.query.Top, members)
		if err != nil {
			a.fail(w, r, err)
			return
		}
		values := make([]any, 0, len(page.Items))
		for _, it := range page.Items {
			if it.Removed {
				values = append(values, map[string]any{"id": it.Object.ID, "@removed": map[string]any{"reason": "changed"}})
				continue
			}
			doc, err := directory.Present(it.Object, o.sel)
			if err != nil {
				a.fail(w, r, err)
				return
			}
			if len(it.LinkChanges) > 0 {
				members := make([]any, 0, len(it.LinkChanges))
				for _, lc := range it.LinkChanges {
					m := map[string]any{"id": lc.TargetID}
					if lc.Kind != "" {
						m["@odata.type"] = "#microsoft.graph." + directory.TypeName(lc.Kind)
					}
					if lc.Removed {
						m["@removed"] = map[string]any{"reason": "deleted"}
					}
					members = append(members, m)
				}
				doc["members@delta"] = members
			}
			values = append(values, doc)
		}
		body := map[string]any{"@odata.context": a.contextURL(rt.path, o.sel), "value": values}
		if page.Next != "" {
			body["@odata.nextLink"] = a.linkWith(r, r.URL.Path, map[string]string{"$skiptoken": page.Next})
		} else {
			body["@odata.deltaLink"] = a.linkWith(r, r.URL.Path, map[string]string{"$deltatoken": page.DeltaLink})
		}
		writeJSON(w, http.StatusOK, body)
	}
}

// selectMembers takes members out of a groups/delta $select, where it asks
// for members@delta (as it does with no $select at all), and says whether
// members are wanted.
func selectMembers(r *http.Request, kind string) (*http.Request, bool) {
	q := r.URL.Query()
	sel := queryOption(q, "$select")
	if kind != directory.KindGroup || sel == "" {
		return r, kind == directory.KindGroup
	}
	names := strings.Split(sel, ",")
	kept := slices.DeleteFunc(slices.Clone(names), func(n string) bool { return strings.EqualFold(strings.TrimSpace(n), "members") })
	if len(kept) == len(names) {
		return r, false
	}
	for k := range q {
		if strings.EqualFold(k, "$select") {
			q.Del(k)
		}
	}
	if len(kept) > 0 {
		q.Set("$select", strings.Join(kept, ","))
	}
	inner := r.Clone(r.Context())
	inner.URL.RawQuery = q.Encode()
	return inner, true
}

func (a *API) related(rel directory.Relation) http.HandlerFunc {
	return func(w http.ResponseWriter, r *http.Request) {
		o, err := parseListOptions(r, directory.KindUser)
		if err != nil {
			a.fail(w, r, err)
			return
		}
		if o.query.Filter != nil || len(o.query.OrderBy) > 0 || len(o.sel) > 0 || len(o.expand) > 0 || o.search != nil {
			writeError(w, r, http.StatusBadRequest, "Request_UnsupportedQuery", "$filter, $orderby, $select, $expand and $search are not supported on this relationship.")
			return
		}
		relation, err := relationOf(r, rel)
		if err != nil {
			a.fail(w, r, err)
			return
		}
		page, err := a.dir.ListRelated(r.Context(), tenantOf(r), relation, o.query)
		if err != nil {
			a.fail(w, r, err)
			return
		}
		values, ok := a.present(w, r, page.Objects, nil, true)
		if !ok {
			return
		}
		body := map[string]any{"@odata.context": a.publicURL + "/v1.0/$metadata#directoryObjects", "value": values}
		if page.Next != "" {
			body["@odata.nextLink"] = a.linkWith(r, r.URL.Path, map[string]string{"$skiptoken": page.Next})
		}
		writeJSON(w, http.StatusOK, body)
	}
}

// refTarget extracts the object id from {"@odata.id": ".../directoryObjects/{id}"}.
func refTarget(body directory.Doc) (string, error) {
	ref, _ := body["@odata.id"].(string)
	if len(body) != 1 || ref == "" {
		return "", usererr.New(usererr.Invalid, "The request body must be {\"@odata.id\": \"<base>/v1.0/directoryObjects/{id}\"}.")
	}
	return directory.RefID(ref)
}

func (a *API) addRef(rel string) http.HandlerFunc {
	return a.bodyAction(func(r *http.Request, body directory.Doc) error {
		target, err := refTarget(body)
		if err != nil {
			return err
		}
		return a.dir.AddLink(r.Context(), tenantOf(r), r.PathValue("id"), rel, target)
	})
}

func (a *API) removeRef(rel string) http.HandlerFunc {
	return a.action(func(r *http.Request) error {
		return a.dir.RemoveLink(r.Context(), tenantOf(r), r.PathValue("id"), rel, r.PathValue("ref"))
	})
}

// me serves GET /me: the signed-in user of a delegated token.
func (a *API) me(w http.ResponseWriter, r *http.Request) {
	p := principalFrom(r.Context())
	if p.AppOnly {
		writeError(w, r, http.StatusBadRequest, "BadRequest", "/me request is only valid with delegated authentication flow.")
		return
	}
	if !allowed(p, readMe) {
		writeError(w, r, http.StatusForbidden, "Authorization_RequestDenied", "Insufficient privileges to complete the operation.")
		return
	}
	o, err := parseListOptions(r, directory.KindUser)
	if err != nil {
		a.fail(w, r, err)
		return
	}
	if o.search != nil {
		a.fail(w, r, refuseExpand(listOptions{search: o.search}))
		return
	}
	obj, err := a.dir.Get(r.Context(), p.TenantID, directory.KindUser, p.ObjectID)
	if err == nil {
		err = a.dir.Hydrate(r.Context(), p.TenantID, []directory.Object{obj}, o.sel)
	}
	if err != nil {
		a.fail(w, r, err)
		return
	}
	a.writeExpanded(w, r, http.StatusOK, "users", obj, o.sel, o.expand)
}

func (a *API) directoryObject(w http.ResponseWriter, r *http.Request) {
	obj, err := a.dir.FindDirectoryObject(r.Context(), tenantOf(r), r.PathValue("id"))
	if err != nil {
		a.fail(w, r, err)
		return
	}
	a.writeTyped(w, r, obj, "directoryObjects/$entity")
}

// writeTyped answers with one directory object of whatever kind, named by
// @odata.type, with its deletion time when it is a deleted item.
func (a *API) writeTyped(w http.ResponseWriter, r *http.Request, obj directory.Object, context string) {
	doc, err := directory.Present(obj, nil)
	if err != nil {
		a.fail(w, r, err)
		return
	}
	doc["@odata.context"] = a.publicURL + "/v1.0/$metadata#" + context
	doc["@odata.type"] = "#microsoft.graph." + directory.TypeName(obj.Kind)
	if deleted, ok := obj.Doc["deletedDateTime"]; ok {
		doc["deletedDateTime"] = deleted
	}
	writeJSON(w, http.StatusOK, doc)
}
