package graph

import (
	"net/http"
	"strings"

	"github.com/gatehouse-id/gatehouse/internal/directory"
)

// kindPerms are the permissions that read and write a kind, for routes that
// learn the kind only from the object (deleted items).
func kindPerms(kind string) (read, write permSet) {
	switch kind {
	case directory.KindUser:
		return readUsers, writeUsers
	case directory.KindGroup:
		return readGroups, writeGroups
	}
	return readApps, writeApps
}

func (a *API) registerDeletedItems(mux *http.ServeMux) {
	const base = "/v1.0/directory/deletedItems/"
	mux.Handle("GET "+base+"{item}", a.authenticate(http.HandlerFunc(a.deletedItem)))
	mux.Handle("POST "+base+"{item}/restore", a.authenticate(http.HandlerFunc(a.restoreDeleted)))
	mux.Handle("DELETE "+base+"{item}", a.authenticate(http.HandlerFunc(a.purgeDeleted)))
	mux.Handle("GET "+base+"{item}/$count", a.authenticate(http.HandlerFunc(a.countDeleted)))
}

// countDeleted serves GET …/deletedItems/graph.{type}/$count, which like
// every $count segment needs ConsistencyLevel: eventual.
func (a *API) countDeleted(w http.ResponseWriter, r *http.Request) {
	kind, err := directory.DeletedKind(r.PathValue("item"))
	if err != nil {
		a.fail(w, r, err)
		return
	}
	if read, _ := kindPerms(kind); !a.permitted(w, r, read) {
		return
	}
	if !strings.EqualFold(r.Header.Get("ConsistencyLevel"), "eventual") {
		writeError(w, r, http.StatusBadRequest, "Request_BadRequest", "$count is not currently supported.")
		return
	}
	o, err := parseListOptions(r, kind)
	if err == nil {
		err = refuseExpand(o)
	}
	if err != nil {
		a.fail(w, r, err)
		return
	}
	o.query.Advanced = true
	n, err := a.dir.CountDeleted(r.Context(), tenantOf(r), kind, o.query)
	if err != nil {
		a.fail(w, r, err)
		return
	}
	writeCount(w, n)
}

// permitted answers 403 unless the caller holds need.
func (a *API) permitted(w http.ResponseWriter, r *http.Request, need permSet) bool {
	if allowed(principalFrom(r.Context()), need) {
		return true
	}
	writeError(w, r, http.StatusForbidden, "Authorization_RequestDenied", "Insufficient privileges to complete the operation.")
	return false
}

// deletedItem serves both GET …/deletedItems/graph.{type} (the list; the
// docs spell it microsoft.graph.{type}) and GET …/deletedItems/{id}: the two
// share one path shape.
func (a *API) deletedItem(w http.ResponseWriter, r *http.Request) {
	item := r.PathValue("item")
	if strings.HasPrefix(item, "microsoft.graph.") || strings.HasPrefix(item, "graph.") {
		a.listDeleted(w, r, item)
		return
	}
	obj, ok := a.deletedFor(w, r, false)
	if ok {
		a.writeTyped(w, r, obj, "directory/deletedItems/$entity")
	}
}

// deletedFor finds the deleted item of the URL and checks the caller may
// read it, or change it when write; on failure it has answered.
func (a *API) deletedFor(w http.ResponseWriter, r *http.Request, write bool) (directory.Object, bool) {
	obj, err := a.dir.GetDeleted(r.Context(), tenantOf(r), r.PathValue("item"))
	if err != nil {
		a.fail(w, r, err)
		return directory.Object{}, false
	}
	read, change := kindPerms(obj.Kind)
	if write {
		read = change
	}
	return obj, a.permitted(w, r, read)
}

func (a *API) listDeleted(w http.ResponseWriter, r *http.Request, typeName string) {
	kind, err := directory.DeletedKind(typeName)
	if err != nil {
		a.fail(w, r, err)
		return
	}
	if read, _ := kindPerms(kind); !a.permitted(w, r, read) {
		return
	}
	o, err := parseListOptions(r, kind)
	if err == nil {
		err = refuseExpand(o)
	}
	if err != nil {
		a.fail(w, r, err)
		return
	}
	page, err := a.dir.ListDeleted(r.Context(), tenantOf(r), kind, o.query)
	if err != nil {
		a.fail(w, r, err)
		return
	}
	values, ok := a.present(w, r, page.Objects, o.sel, true)
	if !ok {
		return
	}
	for i, v := range values {
		v.(directory.Doc)["deletedDateTime"] = page.Objects[i].Doc["deletedDateTime"]
	}
	body := map[string]any{"@odata.context": a.publicURL + "/v1.0/$metadata#directory/deletedItems/microsoft.graph." + directory.TypeName(kind), "value": values}
	if page.Next != "" {
		body["@odata.nextLink"] = a.linkWith(r, r.URL.Path, map[string]string{"$skiptoken": page.Next})
	}
	writeJSON(w, http.StatusOK, body)
}

func (a *API) restoreDeleted(w http.ResponseWriter, r *http.Request) {
	if _, ok := a.deletedFor(w, r, true); !ok {
		return
	}
	obj, err := a.dir.Restore(r.Context(), tenantOf(r), r.PathValue("item"))
	if err != nil {
		a.fail(w, r, err)
		return
	}
	a.writeTyped(w, r, obj, "directoryObjects/$entity")
}

func (a *API) purgeDeleted(w http.ResponseWriter, r *http.Request) {
	if _, ok := a.deletedFor(w, r, true); !ok {
		return
	}
	if err := a.dir.PermanentlyDelete(r.Context(), tenantOf(r), r.PathValue("item")); err != nil {
		a.fail(w, r, err)
		return
	}
	w.WriteHeader(http.StatusNoContent)
}
