package graph

import (
	"context"
	"net/http"

	"github.com/gatehouse-id/gatehouse/internal/directory"
)

// Invitations invites external users (internal/b2b): POST /invitations
// answers the invitation resource it returns.
type Invitations interface {
	Invite(ctx context.Context, tenantID string, body directory.Doc) (directory.Doc, error)
}

// invite serves POST /v1.0/invitations. The invitation is no stored
// resource: the answer is the only place its id and redeem URL appear.
func (a *API) invite(w http.ResponseWriter, r *http.Request) {
	body, err := readBody(r)
	if err != nil {
		a.fail(w, r, err)
		return
	}
	inv, err := a.invitations.Invite(r.Context(), tenantOf(r), body)
	if err != nil {
		a.fail(w, r, err)
		return
	}
	out := directory.Doc{"@odata.context": a.publicURL + "/v1.0/$metadata#invitations/$entity"}
	for k, v := range inv {
		out[k] = v
	}
	writeJSON(w, http.StatusCreated, out)
}
