package graphsdk_test

import (
	"context"
	"errors"
	"fmt"
	"slices"
	"strings"
	"testing"
	"time"

	abstractions "github.com/microsoft/kiota-abstractions-go"
	"github.com/microsoft/kiota-abstractions-go/authentication"
	msgraphsdk "github.com/microsoftgraph/msgraph-sdk-go"
	msgraphcore "github.com/microsoftgraph/msgraph-sdk-go-core"
	"github.com/microsoftgraph/msgraph-sdk-go/models"
	"github.com/microsoftgraph/msgraph-sdk-go/models/odataerrors"
	"github.com/microsoftgraph/msgraph-sdk-go/users"
)

const (
	domainA       = "alpha.graphsdk.test"
	domainB       = "beta.graphsdk.test"
	userCount     = 25
	pageSize      = 5
	displayPrefix = "SDK User"
	testTimeout   = 5 * time.Minute
	// maxListed bounds a listing so a server that repeats @odata.nextLink
	// fails the test instead of looping until the deadline.
	maxListed = 1000
)

// createdUser is what the test sent for one user plus the id Gatehouse gave it.
type createdUser struct {
	id          string
	upn         string
	displayName string
	jobTitle    string
}

// listing is every user a paged listing returned, and how many arrived on
// each page, in order.
type listing struct {
	users     []models.Userable
	pageSizes []int
}

func TestGraphSDK(t *testing.T) {
	gh := buildGatehouse(t)
	tenantA := gh.createTenant(t, "Graph SDK Alpha", domainA)
	tenantB := gh.createTenant(t, "Graph SDK Beta", domainB)
	if tenantA.TenantID == tenantB.TenantID {
		t.Fatalf("both tenants got id %s", tenantA.TenantID)
	}
	base := gh.serve(t)

	ctx, cancel := context.WithTimeout(t.Context(), testTimeout)
	defer cancel()
	clientA := newGraphClient(t, base, tenantA)
	clientB := newGraphClient(t, base, tenantB)

	var created []createdUser
	if !t.Run("CreateUsers", func(t *testing.T) { created = createUsers(ctx, t, clientA) }) {
		t.FailNow()
	}

	t.Run("ListAllPagesWithTop", func(t *testing.T) {
		got := listUsers(ctx, t, clientA, &users.UsersRequestBuilderGetQueryParameters{Top: ptr(int32(pageSize))})
		wantTotal := userCount + 1 // the tenant's admin is listed too
		t.Logf("$top=%d listing arrived in pages of %v users", pageSize, got.pageSizes)
		if len(got.pageSizes) == 0 || got.pageSizes[0] != pageSize {
			t.Errorf("first page held %v users, want %d with $top=%d", got.pageSizes, pageSize, pageSize)
		}
		for i, n := range got.pageSizes {
			if n > pageSize {
				t.Errorf("page %d held %d users, more than $top=%d (all pages: %v)", i, n, pageSize, got.pageSizes)
			}
		}
		if len(got.users) != wantTotal {
			t.Errorf("listed %d users over %d pages, want %d", len(got.users), len(got.pageSizes), wantTotal)
		}
		seen := countIDs(got.users)
		for _, c := range created {
			if seen[c.id] != 1 {
				t.Errorf("user %s (%s) listed %d times, want once", c.upn, c.id, seen[c.id])
			}
		}
		if n := countUPN(got.users, tenantA.Admin.UserPrincipalName); n != 1 {
			t.Errorf("admin %s listed %d times, want once", tenantA.Admin.UserPrincipalName, n)
		}
	})

	t.Run("Filter", func(t *testing.T) {
		target := created[7]
		tests := []struct {
			name   string
			filter string
			want   []string
		}{
			{"startsWith displayName", fmt.Sprintf("startsWith(displayName,'%s')", displayPrefix), idsOf(created)},
			{"userPrincipalName eq", fmt.Sprintf("userPrincipalName eq '%s'", target.upn), []string{target.id}},
			{"displayName eq without match", "displayName eq 'Nobody By This Name'", nil},
		}
		for _, tt := range tests {
			t.Run(tt.name, func(t *testing.T) {
				got := listUsers(ctx, t, clientA, &users.UsersRequestBuilderGetQueryParameters{Filter: ptr(tt.filter)})
				assertSameIDs(t, got.users, tt.want)
			})
		}
	})

	t.Run("Select", func(t *testing.T) {
		target := created[3]
		// Without $select jobTitle must come back, so its absence below is
		// $select's doing and not a property Gatehouse never returns.
		full, err := clientA.Users().ByUserId(target.id).Get(ctx, nil)
		if err != nil {
			t.Fatalf("GET /users/%s: %s", target.id, describe(err))
		}
		if got := deref(full.GetJobTitle()); got != target.jobTitle {
			t.Fatalf("GET /users/%s jobTitle = %q, want %q", target.id, got, target.jobTitle)
		}

		selectFields := []string{"id", "displayName"}
		item, err := clientA.Users().ByUserId(target.id).Get(ctx, &users.UserItemRequestBuilderGetRequestConfiguration{
			QueryParameters: &users.UserItemRequestBuilderGetQueryParameters{Select: selectFields},
		})
		if err != nil {
			t.Fatalf("GET /users/%s?$select=id,displayName: %s", target.id, describe(err))
		}
		assertSelected(t, item, map[string]createdUser{target.id: target})

		got := listUsers(ctx, t, clientA, &users.UsersRequestBuilderGetQueryParameters{
			Filter: ptr(fmt.Sprintf("startsWith(displayName,'%s')", displayPrefix)),
			Select: selectFields,
		})
		assertSameIDs(t, got.users, idsOf(created))
		byID := make(map[string]createdUser, len(created))
		for _, c := range created {
			byID[c.id] = c
		}
		for _, u := range got.users {
			assertSelected(t, u, byID)
		}
	})

	t.Run("TenantIsolation", func(t *testing.T) {
		all := listUsers(ctx, t, clientB, nil)
		// B's own admin proves the listing works, so an empty result below
		// means isolation and not a broken endpoint.
		if n := countUPN(all.users, tenantB.Admin.UserPrincipalName); n != 1 {
			t.Errorf("tenant B listed its admin %s %d times, want once", tenantB.Admin.UserPrincipalName, n)
		}
		seen := countIDs(all.users)
		for _, c := range created {
			if seen[c.id] != 0 {
				t.Errorf("tenant B sees tenant A's user %s (%s)", c.upn, c.id)
			}
		}
		if n := countUPN(all.users, tenantA.Admin.UserPrincipalName); n != 0 {
			t.Errorf("tenant B sees tenant A's admin %s", tenantA.Admin.UserPrincipalName)
		}

		filtered := listUsers(ctx, t, clientB, &users.UsersRequestBuilderGetQueryParameters{
			Filter: ptr(fmt.Sprintf("userPrincipalName eq '%s'", created[0].upn)),
		})
		assertSameIDs(t, filtered.users, nil)

		_, err := clientB.Users().ByUserId(created[0].id).Get(ctx, nil)
		assertODataError(t, err, []int{404}, "Request_ResourceNotFound")
	})

	t.Run("DuplicateUPN", func(t *testing.T) {
		dup := newUserBody(created[0].upn, "Duplicate "+created[0].displayName, "duplicate00", "")
		_, err := clientA.Users().Post(ctx, dup, nil)
		// As Entra: 400 Request_BadRequest, the property named in the details.
		assertODataError(t, err, []int{400}, "Request_BadRequest")
	})

	// Last: the guest it creates is a user of tenant A, which the listings
	// above do not expect.
	t.Run("Invitations", func(t *testing.T) { testInvitations(ctx, t, base, clientA, clientB) })
}

// newGraphClient builds the stock SDK client with only the base URL and the
// authentication provider swapped for Gatehouse's.
func newGraphClient(t *testing.T, base string, tenant tenantInfo) *msgraphsdk.GraphServiceClient {
	t.Helper()
	tokens, err := newClientCredentialsProvider(base, tenant.TenantID, tenant.Automation.ClientID, tenant.Automation.ClientSecret)
	if err != nil {
		t.Fatalf("token provider: %v", err)
	}
	adapter, err := msgraphsdk.NewGraphRequestAdapter(authentication.NewBaseBearerTokenAuthenticationProvider(tokens))
	if err != nil {
		t.Fatalf("graph request adapter: %v", err)
	}
	adapter.SetBaseUrl(base + "/v1.0")
	return msgraphsdk.NewGraphServiceClient(adapter)
}

func createUsers(ctx context.Context, t *testing.T, client *msgraphsdk.GraphServiceClient) []createdUser {
	t.Helper()
	created := make([]createdUser, 0, userCount)
	ids := make(map[string]bool, userCount)
	for i := range userCount {
		want := createdUser{
			upn:         fmt.Sprintf("user%02d@%s", i, domainA),
			displayName: fmt.Sprintf("%s %02d", displayPrefix, i),
			jobTitle:    fmt.Sprintf("Tester %02d", i),
		}
		body := newUserBody(want.upn, want.displayName, fmt.Sprintf("user%02d", i), want.jobTitle)
		got, err := client.Users().Post(ctx, body, nil)
		if err != nil {
			t.Fatalf("POST /users %s: %s", want.upn, describe(err))
		}
		want.id = deref(got.GetId())
		switch {
		case want.id == "":
			t.Fatalf("POST /users %s returned no id", want.upn)
		case ids[want.id]:
			t.Fatalf("POST /users %s returned id %s already given to another user", want.upn, want.id)
		}
		ids[want.id] = true
		if upn := deref(got.GetUserPrincipalName()); upn != want.upn {
			t.Errorf("POST /users returned userPrincipalName %q, want %q", upn, want.upn)
		}
		if name := deref(got.GetDisplayName()); name != want.displayName {
			t.Errorf("POST /users %s returned displayName %q, want %q", want.upn, name, want.displayName)
		}
		created = append(created, want)
	}
	return created
}

// newUserBody is a user as Graph's create-user call requires it; jobTitle is
// left out when empty.
func newUserBody(upn, displayName, mailNickname, jobTitle string) models.Userable {
	pw := models.NewPasswordProfile()
	pw.SetPassword(ptr("Gh!" + mailNickname + "-Str0ng-Passw0rd"))
	pw.SetForceChangePasswordNextSignIn(ptr(false))
	u := models.NewUser()
	u.SetAccountEnabled(ptr(true))
	u.SetDisplayName(ptr(displayName))
	u.SetMailNickname(ptr(mailNickname))
	u.SetUserPrincipalName(ptr(upn))
	u.SetPasswordProfile(pw)
	if jobTitle != "" {
		u.SetJobTitle(ptr(jobTitle))
	}
	return u
}

// listUsers fetches the first page with the SDK and follows @odata.nextLink
// with the SDK's own PageIterator.
func listUsers(ctx context.Context, t *testing.T, client *msgraphsdk.GraphServiceClient, query *users.UsersRequestBuilderGetQueryParameters) listing {
	t.Helper()
	first, err := client.Users().Get(ctx, &users.UsersRequestBuilderGetRequestConfiguration{QueryParameters: query})
	if err != nil {
		t.Fatalf("GET /users %s: %s", describeQuery(query), describe(err))
	}
	it, err := msgraphcore.NewPageIterator[models.Userable](first, client.GetAdapter(), models.CreateUserCollectionResponseFromDiscriminatorValue)
	if err != nil {
		t.Fatalf("page iterator: %v", err)
	}
	var out listing
	var pageLink *string
	err = it.Iterate(ctx, func(u models.Userable) bool {
		// Items of one page share that page's nextLink; a new link means a
		// new page.
		if link := it.GetOdataNextLink(); len(out.pageSizes) == 0 || deref(link) != deref(pageLink) {
			out.pageSizes = append(out.pageSizes, 0)
			pageLink = link
		}
		out.pageSizes[len(out.pageSizes)-1]++
		out.users = append(out.users, u)
		return len(out.users) < maxListed
	})
	if err != nil {
		t.Fatalf("GET /users %s, following @odata.nextLink: %s", describeQuery(query), describe(err))
	}
	if len(out.users) >= maxListed {
		t.Fatalf("GET /users %s: stopped after %d users; is @odata.nextLink repeating?", describeQuery(query), maxListed)
	}
	return out
}

// assertSelected checks a user fetched with $select=id,displayName: both are
// right and properties outside the selection are absent.
func assertSelected(t *testing.T, u models.Userable, want map[string]createdUser) {
	t.Helper()
	id := deref(u.GetId())
	c, ok := want[id]
	if !ok {
		t.Errorf("$select=id,displayName returned unexpected id %q", id)
		return
	}
	if got := deref(u.GetDisplayName()); got != c.displayName {
		t.Errorf("user %s: displayName = %q, want %q", id, got, c.displayName)
	}
	if got := u.GetJobTitle(); got != nil {
		t.Errorf("user %s: jobTitle = %q despite $select=id,displayName", id, *got)
	}
	if got := u.GetUserPrincipalName(); got != nil {
		t.Errorf("user %s: userPrincipalName = %q despite $select=id,displayName", id, *got)
	}
	if got := u.GetAccountEnabled(); got != nil {
		t.Errorf("user %s: accountEnabled = %v despite $select=id,displayName", id, *got)
	}
}

// assertSameIDs demands exactly the wanted ids, each once.
func assertSameIDs(t *testing.T, got []models.Userable, want []string) {
	t.Helper()
	gotIDs := idsOfUsers(got)
	slices.Sort(gotIDs)
	want = slices.Sorted(slices.Values(want))
	if !slices.Equal(gotIDs, want) {
		t.Errorf("got %d users %v, want %d users %v", len(gotIDs), gotIDs, len(want), want)
	}
}

// assertODataError checks that err is the SDK's ODataError with Graph's
// error code and one of the acceptable statuses.
func assertODataError(t *testing.T, err error, wantStatus []int, wantCode string) {
	t.Helper()
	if err == nil {
		t.Fatalf("got success, want ODataError %v %s", wantStatus, wantCode)
	}
	var oerr odataerrors.ODataErrorable
	if !errors.As(err, &oerr) {
		t.Fatalf("got %T (%s), want an ODataError %v %s", err, describe(err), wantStatus, wantCode)
	}
	status, code, _ := odataErrorParts(oerr)
	if !slices.Contains(wantStatus, status) || code != wantCode {
		t.Errorf("got %s, want status in %v and code %q", describe(err), wantStatus, wantCode)
	}
}

// describe renders an error without calling ODataError.Error, which
// dereferences error.message and would panic on a body that lacks it.
func describe(err error) string {
	var oerr odataerrors.ODataErrorable
	if !errors.As(err, &oerr) {
		return err.Error()
	}
	status, code, message := odataErrorParts(oerr)
	if oerr.GetErrorEscaped() == nil {
		return fmt.Sprintf("ODataError status %d without an \"error\" object", status)
	}
	return fmt.Sprintf("ODataError status %d code %q message %q", status, code, message)
}

func odataErrorParts(oerr odataerrors.ODataErrorable) (status int, code, message string) {
	if api, ok := oerr.(abstractions.ApiErrorable); ok {
		status = api.GetStatusCode()
	}
	if main := oerr.GetErrorEscaped(); main != nil {
		code, message = deref(main.GetCode()), deref(main.GetMessage())
	}
	return status, code, message
}

func describeQuery(q *users.UsersRequestBuilderGetQueryParameters) string {
	if q == nil {
		return "(no query)"
	}
	return fmt.Sprintf("($filter=%q $select=%v $top=%v)", deref(q.Filter), q.Select, deref(q.Top))
}

func idsOf(cs []createdUser) []string {
	ids := make([]string, len(cs))
	for i, c := range cs {
		ids[i] = c.id
	}
	return ids
}

func idsOfUsers(us []models.Userable) []string {
	ids := make([]string, len(us))
	for i, u := range us {
		ids[i] = deref(u.GetId())
	}
	return ids
}

func countIDs(us []models.Userable) map[string]int {
	seen := make(map[string]int, len(us))
	for _, u := range us {
		seen[deref(u.GetId())]++
	}
	return seen
}

func countUPN(us []models.Userable, upn string) int {
	n := 0
	for _, u := range us {
		if strings.EqualFold(deref(u.GetUserPrincipalName()), upn) {
			n++
		}
	}
	return n
}

func ptr[T any](v T) *T { return &v }

func deref[T any](p *T) T {
	if p == nil {
		var zero T
		return zero
	}
	return *p
}
