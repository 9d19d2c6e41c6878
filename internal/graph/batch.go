package graph

import (
	"bytes"
	"context"
	"encoding/base64"
	"encoding/json"
	"mime"
	"net/http"
	"net/url"
	"slices"
	"strings"

	"github.com/google/uuid"

	"github.com/gatehouse-id/gatehouse/internal/httpresp"
	"github.com/gatehouse-id/gatehouse/internal/reqid"
	"github.com/gatehouse-id/gatehouse/internal/usererr"
)

// JSON batching (POST /v1.0/$batch), as Graph documents it and the SDKs'
// batch helpers send it: up to 20 requests, each run through the API's own
// routes exactly as if it were sent alone (the batch's Authorization header
// goes with each, so each is authenticated and admitted by itself), each
// answered with its own status, headers and body under its id. Requests run
// one at a time in the batch's order, except that a request waits for those
// it dependsOn; a request whose dependency failed (4xx or 5xx) is not run
// and answers 424.

const maxBatchRequests = 20

type batchRequest struct {
	ID        string            `json:"id"`
	Method    string            `json:"method"`
	URL       string            `json:"url"`
	Headers   map[string]string `json:"headers,omitempty"`
	Body      json.RawMessage   `json:"body,omitempty"`
	DependsOn []string          `json:"dependsOn,omitempty"`
}

type batchResponse struct {
	ID      string            `json:"id"`
	Status  int               `json:"status"`
	Headers map[string]string `json:"headers,omitempty"`
	Body    json.RawMessage   `json:"body,omitempty"`
}

func (a *API) batch(api http.Handler) http.HandlerFunc {
	return func(w http.ResponseWriter, r *http.Request) {
		raw, err := readRawBody(r)
		if err != nil {
			a.fail(w, r, err)
			return
		}
		reqs, order, err := parseBatch(raw)
		if err != nil {
			a.fail(w, r, err)
			return
		}
		status := map[string]int{}
		out := make([]batchResponse, len(reqs))
		for _, i := range order {
			br := reqs[i]
			if slices.ContainsFunc(br.DependsOn, func(dep string) bool { return status[dep] >= 400 }) {
				out[i] = failedDependency(br.ID)
			} else {
				out[i] = a.runBatched(api, r, br)
			}
			status[br.ID] = out[i].Status
		}
		writeJSON(w, http.StatusOK, map[string]any{"responses": out})
	}
}

func batchError(format string, args ...any) error {
	return usererr.WithCode(usererr.Invalid, "BadRequest", format, args...)
}

// parseBatch reads and checks a batch, and orders its requests: the
// batch's order, each request after those it depends on.
func parseBatch(raw []byte) ([]batchRequest, []int, error) {
	var b struct {
		Requests []batchRequest `json:"requests"`
	}
	dec := json.NewDecoder(bytes.NewReader(raw))
	dec.DisallowUnknownFields()
	if err := dec.Decode(&b); err != nil {
		return nil, nil, batchError("Invalid batch payload format.")
	}
	if len(b.Requests) == 0 || len(b.Requests) > maxBatchRequests {
		return nil, nil, batchError("A batch holds from 1 to %d requests.", maxBatchRequests)
	}
	ids := map[string]int{}
	for i, br := range b.Requests {
		if br.ID == "" || br.Method == "" || br.URL == "" {
			return nil, nil, batchError("Each request of a batch needs an id, a method and a url.")
		}
		if _, dup := ids[br.ID]; dup {
			return nil, nil, batchError("Batch request contains duplicate request id '%s'.", br.ID)
		}
		ids[br.ID] = i
	}
	for _, br := range b.Requests {
		for _, dep := range br.DependsOn {
			if _, ok := ids[dep]; !ok || dep == br.ID {
				return nil, nil, batchError("Request '%s' depends on '%s', which is not another request of the batch.", br.ID, dep)
			}
		}
	}
	// Kahn's order, stable: each round takes the first request whose
	// dependencies have all run; none left to take is a cycle.
	done := make([]bool, len(b.Requests))
	var order []int
	for len(order) < len(b.Requests) {
		next := slices.IndexFunc(b.Requests, func(br batchRequest) bool {
			return !done[ids[br.ID]] && !slices.ContainsFunc(br.DependsOn, func(dep string) bool { return !done[ids[dep]] })
		})
		if next < 0 {
			return nil, nil, batchError("The dependencies of the batch's requests form a cycle.")
		}
		done[next] = true
		order = append(order, next)
	}
	return b.Requests, order, nil
}

func failedDependency(id string) batchResponse {
	var b errorBody
	b.Error.Code = "FailedDependency"
	b.Error.Message = "The request was not run: a request it depends on failed."
	body, _ := json.Marshal(b)
	return batchResponse{ID: id, Status: http.StatusFailedDependency, Headers: map[string]string{"Content-Type": "application/json"}, Body: body}
}

// runBatched runs one request of a batch through the API's routes.
func (a *API) runBatched(api http.Handler, outer *http.Request, br batchRequest) batchResponse {
	rec := httpresp.NewRecorder()
	rec.Header().Set(reqid.RequestHeader, uuid.NewString())
	// A batched request's 503 says when to retry, as the batch's own would.
	w := httpresp.RetryLaterWriter(rec)
	sub, err := subRequest(outer, br)
	if err != nil {
		a.fail(w, outer, err)
	} else {
		api.ServeHTTP(w, sub)
	}
	resp := batchResponse{ID: br.ID, Status: rec.Status(), Headers: map[string]string{}}
	for k, v := range rec.Header() {
		resp.Headers[k] = strings.Join(v, ", ")
	}
	if rec.Body.Len() == 0 {
		return resp
	}
	// JSON stays JSON; anything else (a $count's text) is base64, as in Graph.
	if mt, _, _ := mime.ParseMediaType(rec.Header().Get("Content-Type")); mt == "application/json" {
		resp.Body = bytes.TrimSpace(rec.Body.Bytes())
	} else {
		resp.Body, _ = json.Marshal(base64.StdEncoding.EncodeToString(rec.Body.Bytes()))
	}
	return resp
}

// subRequest makes the http.Request of one batched request: its url is
// relative to /v1.0, and it carries the batch's credentials and client.
func subRequest(outer *http.Request, br batchRequest) (*http.Request, error) {
	method := strings.ToUpper(br.Method)
	if !slices.Contains([]string{http.MethodGet, http.MethodPost, http.MethodPatch, http.MethodPut, http.MethodDelete}, method) {
		return nil, batchError("Method '%s' is not allowed in a batch.", br.Method)
	}
	u, err := url.Parse(br.URL)
	if err != nil || u.IsAbs() || u.Host != "" {
		return nil, batchError("The url '%s' must be relative to the version, e.g. /users.", br.URL)
	}
	path := "/v1.0/" + strings.TrimPrefix(strings.TrimPrefix(u.Path, "/v1.0"), "/")
	if strings.EqualFold(path, "/v1.0/$batch") {
		return nil, batchError("A batch cannot contain another batch.")
	}
	var body []byte
	if len(br.Body) > 0 && !bytes.Equal(br.Body, []byte("null")) {
		body = br.Body
	}
	// The batch's own $skiptoken, if it had one, is not the request's.
	ctx := context.WithValue(outer.Context(), skipKey{}, opened{})
	sub, err := http.NewRequestWithContext(ctx, method, (&url.URL{Path: path, RawQuery: u.RawQuery}).String(), bytes.NewReader(body))
	if err != nil {
		return nil, batchError("The url '%s' is not valid.", br.URL)
	}
	for k, v := range br.Headers {
		sub.Header.Set(k, v)
	}
	if body != nil && sub.Header.Get("Content-Type") == "" {
		sub.Header.Set("Content-Type", "application/json")
	}
	// Only the batch's own credentials count; a batched request cannot
	// bring others, nor a body encoding its JSON body does not have.
	sub.Header.Del("Content-Encoding")
	sub.Header.Set("Authorization", outer.Header.Get("Authorization"))
	sub.RemoteAddr = outer.RemoteAddr
	return sub, nil
}
