package graph

import (
	"context"
	"io"
	"mime"
	"net/http"
	"strconv"
	"strings"

	"github.com/gatehouse-id/gatehouse/internal/directory"
	"github.com/gatehouse-id/gatehouse/internal/store"
	"github.com/gatehouse-id/gatehouse/internal/usererr"
)

func (a *API) addPassword(w http.ResponseWriter, r *http.Request) {
	body, err := readBody(r)
	if err != nil {
		a.fail(w, r, err)
		return
	}
	cred, err := a.dir.AddPassword(r.Context(), tenantOf(r), r.PathValue("id"), body)
	if err != nil {
		a.fail(w, r, err)
		return
	}
	doc := cred.Describe()
	doc["secretText"] = cred.SecretText
	doc["@odata.context"] = a.publicURL + "/v1.0/$metadata#microsoft.graph.passwordCredential"
	writeJSON(w, http.StatusOK, doc)
}

func (a *API) removePassword(r *http.Request, body directory.Doc) error {
	return a.dir.RemovePassword(r.Context(), tenantOf(r), r.PathValue("id"), body)
}

func (a *API) appRoleAssignments(kind string, byPrincipal bool) http.HandlerFunc {
	rt := kindRoute{path: "appRoleAssignments", kind: directory.KindAppRoleAssign}
	return a.listing(rt, func(r *http.Request, q directory.Query) (directory.Page, error) {
		return a.dir.ListAppRoleAssignments(r.Context(), tenantOf(r), kind, r.PathValue("id"), byPrincipal, q)
	})
}

// whole serves a resource set listed whole: $filter and $select.
func (a *API) whole(path, kind string) http.HandlerFunc {
	return func(w http.ResponseWriter, r *http.Request) {
		o, err := wholeOptions(r, kind, "$filter", "$select")
		if err != nil {
			a.fail(w, r, err)
			return
		}
		objs, err := a.dir.ListWhole(r.Context(), tenantOf(r), kind, o.query.Filter)
		if err != nil {
			a.fail(w, r, err)
			return
		}
		if values, ok := a.present(w, r, objs, o.sel, false); ok {
			writeJSON(w, http.StatusOK, map[string]any{"@odata.context": a.contextURL(path, o.sel), "value": values})
		}
	}
}

// wholeEntity serves one member of a set served whole: $select only.
func (a *API) wholeEntity(path, kind string) http.HandlerFunc {
	return func(w http.ResponseWriter, r *http.Request) {
		o, err := wholeOptions(r, kind, "$select")
		if err != nil {
			a.fail(w, r, err)
			return
		}
		obj, err := a.dir.GetWhole(r.Context(), tenantOf(r), kind, r.PathValue("id"))
		if err != nil {
			a.fail(w, r, err)
			return
		}
		if obj.Version != 0 { // a stored object; built-in roles and domains have no version
			a.writeEntity(w, r, http.StatusOK, path, obj, o.sel)
			return
		}
		doc, err := directory.Present(obj, o.sel)
		if err != nil {
			a.fail(w, r, err)
			return
		}
		doc["@odata.context"] = a.contextURL(path, o.sel) + "/$entity"
		writeJSON(w, http.StatusOK, doc)
	}
}

// assignAppRole serves POST …/{id}/appRoleAssignedTo (byPrincipal false)
// and …/{id}/appRoleAssignments (true) under path.
func (a *API) assignAppRole(path string, byPrincipal bool) http.HandlerFunc {
	return func(w http.ResponseWriter, r *http.Request) {
		body, err := readBody(r)
		if err != nil {
			a.fail(w, r, err)
			return
		}
		obj, err := a.dir.AssignAppRole(r.Context(), tenantOf(r), r.PathValue("id"), byPrincipal, body)
		if err != nil {
			a.fail(w, r, err)
			return
		}
		a.writeEntity(w, r, http.StatusCreated, path+"/"+r.PathValue("id")+"/"+map[bool]string{false: "appRoleAssignedTo", true: "appRoleAssignments"}[byPrincipal], obj, nil)
	}
}

func (a *API) unassignAppRole(r *http.Request) error {
	return a.dir.RemoveAppRoleAssignment(r.Context(), tenantOf(r), r.PathValue("id"), r.PathValue("aid"))
}

func (a *API) registerTenantRoutes(mux *http.ServeMux) {
	mux.Handle("GET /v1.0/organization", a.require(readOrg, a.whole("organization", directory.KindOrganization)))
	mux.Handle("GET /v1.0/organization/{id}", a.require(readOrg, a.wholeEntity("organization", directory.KindOrganization)))
	mux.Handle("PATCH /v1.0/organization/{id}", a.require(writeOrg, a.bodyAction(func(r *http.Request, body directory.Doc) error {
		return a.dir.UpdateOrganization(r.Context(), tenantOf(r), r.PathValue("id"), body)
	})))

	a.registerBrandingRoutes(mux)
	for _, pol := range []struct {
		name        string
		read, write permSet
		get         func(ctx context.Context, tenantID string) (directory.Object, error)
		update      func(ctx context.Context, tenantID string, body directory.Doc) error
	}{
		{"authorizationPolicy", readPolicy, writePolicy, a.dir.AuthorizationPolicy, a.dir.UpdateAuthorizationPolicy},
		{"sessionLifetimePolicy", readPolicy, writeAppConfigPolicy, a.dir.SessionLifetimePolicy, a.dir.UpdateSessionLifetimePolicy},
	} {
		mux.Handle("GET /v1.0/policies/"+pol.name, a.require(pol.read, func(w http.ResponseWriter, r *http.Request) {
			p, err := pol.get(r.Context(), tenantOf(r))
			if err != nil {
				a.fail(w, r, err)
				return
			}
			doc, err := directory.Present(p, nil)
			if err != nil {
				a.fail(w, r, err)
				return
			}
			doc["@odata.context"] = a.publicURL + "/v1.0/$metadata#policies/" + pol.name + "/$entity"
			writeJSON(w, http.StatusOK, doc)
		}))
		mux.Handle("PATCH /v1.0/policies/"+pol.name, a.require(pol.write, a.bodyAction(func(r *http.Request, body directory.Doc) error {
			return pol.update(r.Context(), tenantOf(r), body)
		})))
	}

	writeDomain := func(w http.ResponseWriter, r *http.Request, status int, d store.Domain) {
		doc := directory.DomainDoc(d)
		doc["@odata.context"] = a.contextURL("domains", nil) + "/$entity"
		writeJSON(w, status, doc)
	}
	mux.Handle("GET /v1.0/domains", a.require(readDomains, a.whole("domains", directory.KindDomain)))
	mux.Handle("GET /v1.0/domains/{id}", a.require(readDomains, a.wholeEntity("domains", directory.KindDomain)))
	mux.Handle("GET /v1.0/domains/{id}/verificationDnsRecords", a.require(readDomains, func(w http.ResponseWriter, r *http.Request) {
		d, err := a.dir.GetDomain(r.Context(), tenantOf(r), r.PathValue("id"))
		if err != nil {
			a.fail(w, r, err)
			return
		}
		rec := map[string]any{
			"@odata.type": "#microsoft.graph.domainDnsTxtRecord", "id": "txt-" + d.Name, "isOptional": false, "label": d.Name,
			"recordType": "Txt", "supportedService": "Email", "ttl": 3600, "text": directory.VerificationRecord(tenantOf(r), d.Name),
		}
		writeJSON(w, http.StatusOK, map[string]any{"@odata.context": a.contextURL("domains('"+d.Name+"')/verificationDnsRecords", nil), "value": []any{rec}})
	}))
	mux.Handle("POST /v1.0/domains", a.require(writeDomains, func(w http.ResponseWriter, r *http.Request) {
		body, err := readBody(r)
		if err != nil {
			a.fail(w, r, err)
			return
		}
		d, err := a.dir.AddDomain(r.Context(), tenantOf(r), body)
		if err != nil {
			a.fail(w, r, err)
			return
		}
		writeDomain(w, r, http.StatusCreated, d)
	}))
	mux.Handle("POST /v1.0/domains/{id}/verify", a.require(writeDomains, func(w http.ResponseWriter, r *http.Request) {
		d, err := a.dir.VerifyDomain(r.Context(), tenantOf(r), r.PathValue("id"), a.dns)
		if err != nil {
			a.fail(w, r, err)
			return
		}
		writeDomain(w, r, http.StatusOK, d)
	}))
	mux.Handle("PATCH /v1.0/domains/{id}", a.require(writeDomains, a.bodyAction(func(r *http.Request, body directory.Doc) error {
		return a.dir.UpdateDomain(r.Context(), tenantOf(r), r.PathValue("id"), body)
	})))
	mux.Handle("DELETE /v1.0/domains/{id}", a.require(writeDomains, a.action(func(r *http.Request) error {
		return a.dir.DeleteDomain(r.Context(), tenantOf(r), r.PathValue("id"))
	})))
}

func (a *API) registerRoleRoutes(mux *http.ServeMux) {
	const defs = "/v1.0/roleManagement/directory/roleDefinitions"
	const assigns = "/v1.0/roleManagement/directory/roleAssignments"
	mux.Handle("GET "+defs, a.require(readRoles, a.whole("roleManagement/directory/roleDefinitions", directory.KindRoleDefinition)))
	mux.Handle("GET "+defs+"/{id}", a.require(readRoles, a.wholeEntity("roleManagement/directory/roleDefinitions", directory.KindRoleDefinition)))
	ra := kindRoute{path: "roleManagement/directory/roleAssignments", kind: directory.KindRoleAssignment, read: readRoles, write: writeRoles, create: a.dir.AssignRole}
	mux.Handle("GET "+assigns, a.require(readRoles, a.list(ra)))
	mux.Handle("POST "+assigns, a.require(writeRoles, a.create(ra)))
	mux.Handle("GET "+assigns+"/{id}", a.require(readRoles, a.get(ra)))
	mux.Handle("DELETE "+assigns+"/{id}", a.require(writeRoles, a.delete(ra)))

	mux.Handle("GET /v1.0/directoryRoles", a.require(readRoles, a.whole("directoryRoles", directory.KindDirectoryRole)))
	mux.Handle("GET /v1.0/directoryRoles/{id}", a.require(readRoles, a.wholeEntity("directoryRoles", directory.KindDirectoryRole)))
	mux.Handle("GET /v1.0/directoryRoles/{id}/members", a.require(readRoles, func(w http.ResponseWriter, r *http.Request) {
		objs, err := a.dir.RoleMembers(r.Context(), tenantOf(r), r.PathValue("id"))
		if err != nil {
			a.fail(w, r, err)
			return
		}
		values, ok := a.present(w, r, objs, nil, true)
		if ok {
			writeJSON(w, http.StatusOK, map[string]any{"@odata.context": a.publicURL + "/v1.0/$metadata#directoryObjects", "value": values})
		}
	}))
	mux.Handle("POST /v1.0/directoryRoles/{id}/members/$ref", a.require(writeRoles, a.bodyAction(func(r *http.Request, body directory.Doc) error {
		target, err := refTarget(body)
		if err != nil {
			return err
		}
		return a.dir.AddRoleMember(r.Context(), tenantOf(r), r.PathValue("id"), target)
	})))
	mux.Handle("DELETE /v1.0/directoryRoles/{id}/members/{ref}/$ref", a.require(writeRoles, a.action(func(r *http.Request) error {
		return a.dir.RemoveRoleMember(r.Context(), tenantOf(r), r.PathValue("id"), r.PathValue("ref"))
	})))
}

func (a *API) registerBrandingRoutes(mux *http.ServeMux) {
	const base = "/v1.0/organization/{id}/branding"
	// own checks that the organization in the URL is the caller's.
	own := func(r *http.Request) error {
		if !strings.EqualFold(r.PathValue("id"), tenantOf(r)) {
			return usererr.New(usererr.NotFound, "Resource '%s' does not exist or one of its queried reference-property objects are not present.", r.PathValue("id"))
		}
		return nil
	}
	get := func(locale func(r *http.Request) string) http.HandlerFunc {
		return func(w http.ResponseWriter, r *http.Request) {
			if err := own(r); err != nil {
				a.fail(w, r, err)
				return
			}
			b, err := a.dir.GetBranding(r.Context(), tenantOf(r), locale(r))
			if err != nil {
				a.fail(w, r, err)
				return
			}
			a.writeEntity(w, r, http.StatusOK, "organization('"+tenantOf(r)+"')/branding", b, nil)
		}
	}
	set := func(locale func(r *http.Request) string) http.HandlerFunc {
		return a.bodyAction(func(r *http.Request, body directory.Doc) error {
			if err := own(r); err != nil {
				return err
			}
			_, err := a.dir.SetBranding(r.Context(), tenantOf(r), locale(r), body)
			return err
		})
	}
	// The base branding is addressed by Accept-Language 0 or default, or none.
	acceptLanguage := func(r *http.Request) string { return r.Header.Get("Accept-Language") }
	pathLocale := func(r *http.Request) string { return r.PathValue("locale") }
	mux.Handle("GET "+base, a.require(readOrg, get(acceptLanguage)))
	mux.Handle("PATCH "+base, a.require(writeOrg, set(func(*http.Request) string { return directory.DefaultBrandingID })))
	mux.Handle("GET "+base+"/localizations/{locale}", a.require(readOrg, get(pathLocale)))
	localizations := a.list(kindRoute{path: "organization/branding/localizations", kind: directory.KindBranding})
	mux.Handle("GET "+base+"/localizations", a.require(readOrg, func(w http.ResponseWriter, r *http.Request) {
		if err := own(r); err != nil {
			a.fail(w, r, err)
			return
		}
		localizations(w, r)
	}))
	mux.Handle("PATCH "+base+"/localizations/{locale}", a.require(writeOrg, set(pathLocale)))
	mux.Handle("POST "+base+"/localizations", a.require(writeOrg, func(w http.ResponseWriter, r *http.Request) {
		body, err := readBody(r)
		if err == nil {
			err = own(r)
		}
		if err != nil {
			a.fail(w, r, err)
			return
		}
		locale, _ := body["id"].(string)
		if locale == "" || locale == directory.DefaultBrandingID {
			a.fail(w, r, usererr.New(usererr.Invalid, "Property 'id' must name the localization's language, e.g. 'sv-SE'."))
			return
		}
		delete(body, "id")
		b, err := a.dir.SetBranding(r.Context(), tenantOf(r), locale, body)
		if err != nil {
			a.fail(w, r, err)
			return
		}
		a.writeEntity(w, r, http.StatusCreated, "organization('"+tenantOf(r)+"')/branding/localizations", b, nil)
	}))
	mux.Handle("DELETE "+base+"/localizations/{locale}", a.require(writeOrg, a.action(func(r *http.Request) error {
		if err := own(r); err != nil {
			return err
		}
		return a.dir.DeleteBranding(r.Context(), tenantOf(r), r.PathValue("locale"))
	})))
	mux.Handle("DELETE "+base, a.require(writeOrg, a.action(func(r *http.Request) error {
		if err := own(r); err != nil {
			return err
		}
		return a.dir.DeleteBranding(r.Context(), tenantOf(r), directory.DefaultBrandingID)
	})))

	// The images are streams: the bytes themselves, in and out.
	defaultLocale := func(*http.Request) string { return directory.DefaultBrandingID }
	getLogo := func(locale func(r *http.Request) string) http.HandlerFunc {
		return func(w http.ResponseWriter, r *http.Request) {
			if err := own(r); err != nil {
				a.fail(w, r, err)
				return
			}
			logo, err := a.dir.GetLogo(r.Context(), tenantOf(r), locale(r), r.PathValue("stream"))
			if err != nil {
				a.fail(w, r, err)
				return
			}
			WriteLogo(w, logo, "no-store")
		}
	}
	putLogo := func(locale func(r *http.Request) string) http.HandlerFunc {
		return a.action(func(r *http.Request) error {
			if err := own(r); err != nil {
				return err
			}
			if mt, _, err := mime.ParseMediaType(r.Header.Get("Content-Type")); err != nil || !strings.HasPrefix(mt, "image/") {
				return usererr.New(usererr.Invalid, "The image's Content-Type must be image/png, image/jpeg, image/gif or image/webp.")
			}
			data, err := io.ReadAll(io.LimitReader(r.Body, directory.MaxLogoBytes+1))
			if err != nil {
				return directory.ErrUnreadableBody
			}
			return a.dir.PutLogo(r.Context(), tenantOf(r), locale(r), r.PathValue("stream"), data)
		})
	}
	mux.Handle("GET "+base+"/{stream}", a.require(readOrg, getLogo(defaultLocale)))
	mux.Handle("PUT "+base+"/{stream}", a.require(writeOrg, putLogo(defaultLocale)))
	mux.Handle("GET "+base+"/localizations/{locale}/{stream}", a.require(readOrg, getLogo(pathLocale)))
	mux.Handle("PUT "+base+"/localizations/{locale}/{stream}", a.require(writeOrg, putLogo(pathLocale)))
}

// WriteLogo answers with an uploaded image's bytes under its sniffed type:
// the browser must not sniff again, and were it ever opened as a document
// the sandbox keeps it from running anything or reaching the origin.
func WriteLogo(w http.ResponseWriter, logo directory.Logo, cacheControl string) {
	h := w.Header()
	h.Set("Content-Type", logo.ContentType)
	h.Set("Content-Length", strconv.Itoa(len(logo.Data)))
	h.Set("X-Content-Type-Options", "nosniff")
	h.Set("Content-Security-Policy", "default-src 'none'; sandbox")
	h.Set("Cache-Control", cacheControl)
	h.Set("ETag", `"`+logo.SHA256+`"`)
	w.WriteHeader(http.StatusOK)
	_, _ = w.Write(logo.Data)
}
