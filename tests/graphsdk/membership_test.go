package graphsdk_test

import (
	"context"
	"slices"
	"testing"

	"github.com/google/uuid"
	abstractions "github.com/microsoft/kiota-abstractions-go"
	msgraphsdk "github.com/microsoftgraph/msgraph-sdk-go"
	"github.com/microsoftgraph/msgraph-sdk-go/directory"
	"github.com/microsoftgraph/msgraph-sdk-go/directoryobjects"
	"github.com/microsoftgraph/msgraph-sdk-go/groups"
	"github.com/microsoftgraph/msgraph-sdk-go/models"
	"github.com/microsoftgraph/msgraph-sdk-go/serviceprincipals"
	"github.com/microsoftgraph/msgraph-sdk-go/users"
)

const (
	membershipDomain      = "members.graphsdk.test"
	membershipOtherDomain = "other.members.graphsdk.test"
	globalAdministrator   = "62e90394-69f5-4237-9190-012177145e10"
	directoryReaders      = "88d8e3e3-8f55-4a1e-953a-9b9898b8876b"
)

// TestMembershipSDK drives, with the SDK's typed request builders, the URL
// forms it generates for delta, type casts, $count and alternate keys, and
// the membership reads and writes sync tools and admin scripts rely on. It
// has its own server and tenants.
func TestMembershipSDK(t *testing.T) {
	gh := buildGatehouse(t)
	home := gh.createTenant(t, "Membership SDK", membershipDomain)
	other := gh.createTenant(t, "Membership SDK Other", membershipOtherDomain)
	base := gh.serve(t)

	ctx, cancel := context.WithTimeout(t.Context(), testTimeout)
	defer cancel()
	client := newGraphClient(t, base, home)
	otherClient := newGraphClient(t, base, other)

	t.Run("URLForms", func(t *testing.T) { testSDKURLForms(ctx, t, client, otherClient) })
	t.Run("RestoreRelationships", func(t *testing.T) { testSDKRestoreRelationships(ctx, t, client) })
	t.Run("SyncMembership", func(t *testing.T) { testSDKSyncMembership(ctx, t, client) })
	t.Run("Reads", func(t *testing.T) { testSDKReads(ctx, t, client) })
}

// testSDKReads: the reads admin scripts make — $search, $expand, manager
// and direct reports, owned objects, membership checks and getByIds.
func testSDKReads(ctx context.Context, t *testing.T, client *msgraphsdk.GraphServiceClient) {
	base := baseOf(client)
	lead := createUser(ctx, t, client, "searchlead", membershipDomain)
	report := createUser(ctx, t, client, "searchreport", membershipDomain)
	g := createGroup(ctx, t, client, "readsgroup")
	addMember(ctx, t, client, base, g, report)

	// $search needs ConsistencyLevel: eventual; tokens match in any order.
	found, err := client.Users().Get(ctx, &users.UsersRequestBuilderGetRequestConfiguration{Headers: eventual(),
		QueryParameters: &users.UsersRequestBuilderGetQueryParameters{Search: ptr(`"displayName:searchreport member"`), Count: ptr(true)}})
	if err != nil {
		t.Fatalf("$search: %s", describe(err))
	}
	if got := objectIDs(found.GetValue()); !slices.Equal(got, []string{report}) || deref(found.GetOdataCount()) != 1 {
		t.Errorf("$search = %v (count %d), want [%s]", got, deref(found.GetOdataCount()), report)
	}
	_, err = client.Users().Get(ctx, &users.UsersRequestBuilderGetRequestConfiguration{
		QueryParameters: &users.UsersRequestBuilderGetQueryParameters{Search: ptr(`"displayName:member"`)}})
	assertODataError(t, err, []int{400}, "Request_UnsupportedQuery")

	// Manager, direct reports and $expand=manager.
	ref := models.NewReferenceUpdate()
	ref.SetOdataId(ptr(base + "/v1.0/directoryObjects/" + lead))
	if err := client.Users().ByUserId(report).Manager().Ref().Put(ctx, ref, nil); err != nil {
		t.Fatalf("PUT manager/$ref: %s", describe(err))
	}
	manager, err := client.Users().ByUserId(report).Manager().Get(ctx, nil)
	if err != nil || deref(manager.GetId()) != lead {
		t.Errorf("manager = %v, %s; want %s", manager, describe(err), lead)
	}
	if _, ok := manager.(models.Userable); !ok {
		t.Errorf("manager is a %T, not a user", manager)
	}
	reports, err := client.Users().ByUserId(lead).DirectReports().Get(ctx, nil)
	if err != nil {
		t.Fatalf("directReports: %s", describe(err))
	}
	if got := objectIDs(reports.GetValue()); !slices.Equal(got, []string{report}) {
		t.Errorf("directReports = %v, want [%s]", got, report)
	}
	expanded, err := client.Users().ByUserId(report).Get(ctx, &users.UserItemRequestBuilderGetRequestConfiguration{
		QueryParameters: &users.UserItemRequestBuilderGetQueryParameters{Expand: []string{"manager"}}})
	if err != nil || expanded.GetManager() == nil || deref(expanded.GetManager().GetId()) != lead {
		t.Errorf("$expand=manager: %v, %s", expanded, describe(err))
	}
	withMembers, err := client.Groups().ByGroupId(g).Get(ctx, &groups.GroupItemRequestBuilderGetRequestConfiguration{
		QueryParameters: &groups.GroupItemRequestBuilderGetQueryParameters{Expand: []string{"members"}}})
	if err != nil {
		t.Fatalf("$expand=members: %s", describe(err))
	}
	if got := objectIDs(withMembers.GetMembers()); !slices.Equal(got, []string{report}) {
		t.Errorf("$expand=members = %v, want [%s]", got, report)
	}

	// Owned objects, membership checks and getByIds.
	owner := models.NewReferenceCreate()
	owner.SetOdataId(ptr(base + "/v1.0/directoryObjects/" + lead))
	if err := client.Groups().ByGroupId(g).Owners().Ref().Post(ctx, owner, nil); err != nil {
		t.Fatalf("POST owners/$ref: %s", describe(err))
	}
	owned, err := client.Users().ByUserId(lead).OwnedObjects().Get(ctx, nil)
	if err != nil {
		t.Fatalf("ownedObjects: %s", describe(err))
	}
	if got := objectIDs(owned.GetValue()); !slices.Equal(got, []string{g}) {
		t.Errorf("ownedObjects = %v, want [%s]", got, g)
	}
	memberGroups := users.NewItemGetMemberGroupsPostRequestBody()
	memberGroups.SetSecurityEnabledOnly(ptr(true))
	groupIDs, err := client.Users().ByUserId(report).GetMemberGroups().PostAsGetMemberGroupsPostResponse(ctx, memberGroups, nil)
	if err != nil || !slices.Equal(groupIDs.GetValue(), []string{g}) {
		t.Errorf("getMemberGroups = %v, %s; want [%s]", groupIDs, describe(err), g)
	}
	check := users.NewItemCheckMemberGroupsPostRequestBody()
	check.SetGroupIds([]string{g, lead})
	checked, err := client.Users().ByUserId(report).CheckMemberGroups().PostAsCheckMemberGroupsPostResponse(ctx, check, nil)
	if err != nil || !slices.Equal(checked.GetValue(), []string{g}) {
		t.Errorf("checkMemberGroups = %v, %s; want [%s]", checked, describe(err), g)
	}
	testSDKAppRoleAssignedTo(ctx, t, client, lead, report)

	byIDs := directoryobjects.NewGetByIdsPostRequestBody()
	byIDs.SetIds([]string{lead, g})
	byIDs.SetTypes([]string{"user"})
	objs, err := client.DirectoryObjects().GetByIds().PostAsGetByIdsPostResponse(ctx, byIDs, nil)
	if err != nil {
		t.Fatalf("getByIds: %s", describe(err))
	}
	if got := objectIDs(objs.GetValue()); !slices.Equal(got, []string{lead}) {
		t.Errorf("getByIds of users = %v, want [%s]", got, lead)
	}
}

// baseOf is the server's address without /v1.0.
func baseOf(client *msgraphsdk.GraphServiceClient) string {
	base := client.GetAdapter().GetBaseUrl()
	return base[:len(base)-len("/v1.0")]
}

// testSDKRestoreRelationships: a user restored through deletedItems is
// back in its group and its directory role; a security group is gone for good.
func testSDKRestoreRelationships(ctx context.Context, t *testing.T, client *msgraphsdk.GraphServiceClient) {
	base := baseOf(client)
	u := createUser(ctx, t, client, "restored", membershipDomain)
	g := createGroup(ctx, t, client, "restoredgroup")
	addMember(ctx, t, client, base, g, u)
	ref := models.NewReferenceCreate()
	ref.SetOdataId(ptr(base + "/v1.0/directoryObjects/" + u))
	if err := client.DirectoryRoles().ByDirectoryRoleId(directoryReaders).Members().Ref().Post(ctx, ref, nil); err != nil {
		t.Fatalf("POST directoryRoles/…/members/$ref: %s", describe(err))
	}
	if err := client.Users().ByUserId(u).Delete(ctx, nil); err != nil {
		t.Fatalf("DELETE user: %s", describe(err))
	}
	if _, err := client.Directory().DeletedItems().ByDirectoryObjectId(u).Restore().Post(ctx, nil); err != nil {
		t.Fatalf("restore: %s", describe(err))
	}
	memberOf, err := client.Users().ByUserId(u).MemberOf().Get(ctx, nil)
	if err != nil {
		t.Fatalf("memberOf: %s", describe(err))
	}
	if got := objectIDs(memberOf.GetValue()); !slices.Equal(got, sorted(g, directoryReaders)) {
		t.Errorf("memberOf after restore = %v, want %s and the Directory Readers role", got, g)
	}
	if err := client.Groups().ByGroupId(g).Delete(ctx, nil); err != nil {
		t.Fatalf("DELETE group: %s", describe(err))
	}
	_, err = client.Directory().DeletedItems().ByDirectoryObjectId(g).Get(ctx, nil)
	assertODataError(t, err, []int{404}, "Request_ResourceNotFound")
}

// testSDKSyncMembership: members@odata.bind on create, members@delta in
// the first delta round, transitive members and memberships, and the
// SDK's way of removing a member.
func testSDKSyncMembership(ctx context.Context, t *testing.T, client *msgraphsdk.GraphServiceClient) {
	base := baseOf(client)
	u1 := createUser(ctx, t, client, "sync1", membershipDomain)
	u2 := createUser(ctx, t, client, "sync2", membershipDomain)
	sub := createGroup(ctx, t, client, "syncsub")
	addMember(ctx, t, client, base, sub, u2)
	g := models.NewGroup()
	g.SetDisplayName(ptr("synctop"))
	g.SetMailEnabled(ptr(false))
	g.SetMailNickname(ptr("synctop"))
	g.SetSecurityEnabled(ptr(true))
	g.SetAdditionalData(map[string]any{"members@odata.bind": []string{base + "/v1.0/directoryObjects/" + u1, base + "/v1.0/directoryObjects/" + sub}})
	created, err := client.Groups().Post(ctx, g, nil)
	if err != nil {
		t.Fatalf("POST /groups with members@odata.bind: %s", describe(err))
	}
	top := deref(created.GetId())

	// The first delta round names every member of each group.
	page, err := client.Groups().Delta().Get(ctx, &groups.DeltaRequestBuilderGetRequestConfiguration{
		QueryParameters: &groups.DeltaRequestBuilderGetQueryParameters{Select: []string{"displayName", "members"}}})
	found := false
	for range maxListed {
		if err != nil {
			t.Fatalf("groups/delta(): %s", describe(err))
		}
		for _, grp := range page.GetValue() {
			if deref(grp.GetId()) != top {
				continue
			}
			found = true
			members, _ := grp.GetAdditionalData()["members@delta"].([]any)
			if len(members) != 2 {
				t.Errorf("members@delta of the new group = %v, want 2 members", grp.GetAdditionalData()["members@delta"])
			}
		}
		next := deref(page.GetOdataNextLink())
		if next == "" {
			break
		}
		page, err = client.Groups().Delta().WithUrl(next).Get(ctx, nil)
	}
	if !found {
		t.Errorf("groups/delta() did not list group %s", top)
	}

	transitive, err := client.Groups().ByGroupId(top).TransitiveMembers().GraphUser().Get(ctx, nil)
	if err != nil {
		t.Fatalf("transitiveMembers/graph.user: %s", describe(err))
	}
	if got := objectIDs(transitive.GetValue()); !slices.Equal(got, sorted(u1, u2)) {
		t.Errorf("transitiveMembers/graph.user = %v, want %s and %s", got, u1, u2)
	}
	memberships, err := client.Users().ByUserId(u2).TransitiveMemberOf().GraphGroup().Get(ctx, nil)
	if err != nil {
		t.Fatalf("transitiveMemberOf/graph.group: %s", describe(err))
	}
	if got := objectIDs(memberships.GetValue()); !slices.Equal(got, sorted(sub, top)) {
		t.Errorf("transitiveMemberOf/graph.group = %v, want %s and %s", got, sub, top)
	}

	err = client.Groups().ByGroupId(top).Members().Ref().Delete(ctx, &groups.ItemMembersRefRequestBuilderDeleteRequestConfiguration{
		QueryParameters: &groups.ItemMembersRefRequestBuilderDeleteQueryParameters{Id: ptr(base + "/v1.0/directoryObjects/" + u1)}})
	if err != nil {
		t.Fatalf("DELETE members/$ref?@id=: %s", describe(err))
	}
	members, err := client.Groups().ByGroupId(top).Members().Get(ctx, nil)
	if err != nil {
		t.Fatalf("members: %s", describe(err))
	}
	if got := objectIDs(members.GetValue()); !slices.Equal(got, []string{sub}) {
		t.Errorf("members after removing %s = %v", u1, got)
	}
}

// eventual is the header advanced queries ($count, $search) need.
func eventual() *abstractions.RequestHeaders {
	h := abstractions.NewRequestHeaders()
	h.Add("ConsistencyLevel", "eventual")
	return h
}

func createGroup(ctx context.Context, t *testing.T, client *msgraphsdk.GraphServiceClient, name string) string {
	t.Helper()
	g := models.NewGroup()
	g.SetDisplayName(ptr(name))
	g.SetMailEnabled(ptr(false))
	g.SetMailNickname(ptr(name))
	g.SetSecurityEnabled(ptr(true))
	got, err := client.Groups().Post(ctx, g, nil)
	if err != nil {
		t.Fatalf("POST /groups %s: %s", name, describe(err))
	}
	return deref(got.GetId())
}

func createUser(ctx context.Context, t *testing.T, client *msgraphsdk.GraphServiceClient, alias, domain string) string {
	t.Helper()
	got, err := client.Users().Post(ctx, newUserBody(alias+"@"+domain, "Member "+alias, alias, ""), nil)
	if err != nil {
		t.Fatalf("POST /users %s: %s", alias, describe(err))
	}
	return deref(got.GetId())
}

func addMember(ctx context.Context, t *testing.T, client *msgraphsdk.GraphServiceClient, base, groupID, memberID string) {
	t.Helper()
	ref := models.NewReferenceCreate()
	ref.SetOdataId(ptr(base + "/v1.0/directoryObjects/" + memberID))
	if err := client.Groups().ByGroupId(groupID).Members().Ref().Post(ctx, ref, nil); err != nil {
		t.Fatalf("POST /groups/%s/members/$ref: %s", groupID, describe(err))
	}
}

func objectIDs[T interface{ GetId() *string }](objs []T) []string {
	out := make([]string, 0, len(objs))
	for _, o := range objs {
		out = append(out, deref(o.GetId()))
	}
	slices.Sort(out)
	return out
}

func sorted(ids ...string) []string {
	slices.Sort(ids)
	return ids
}

func testSDKURLForms(ctx context.Context, t *testing.T, client, otherClient *msgraphsdk.GraphServiceClient) {
	base := baseOf(client)

	// users/delta(): a full round, then a change in the next.
	var deltaLink string
	page, err := client.Users().Delta().Get(ctx, &users.DeltaRequestBuilderGetRequestConfiguration{
		QueryParameters: &users.DeltaRequestBuilderGetQueryParameters{Top: ptr(int32(1))}})
	for range maxListed {
		if err != nil {
			t.Fatalf("GET /users/delta(): %s", describe(err))
		}
		if next := deref(page.GetOdataNextLink()); next != "" {
			page, err = client.Users().Delta().WithUrl(next).Get(ctx, nil)
			continue
		}
		deltaLink = deref(page.GetOdataDeltaLink())
		break
	}
	if deltaLink == "" {
		t.Fatal("users/delta() ended without a delta link")
	}
	u := createUser(ctx, t, client, "delta", membershipDomain)
	changed, err := client.Users().Delta().WithUrl(deltaLink).Get(ctx, nil)
	if err != nil {
		t.Fatalf("delta link: %s", describe(err))
	}
	if got := objectIDs(changed.GetValue()); !slices.Equal(got, []string{u}) {
		t.Errorf("users/delta() after a create = %v, want [%s]", got, u)
	}

	// groups/delta() from $deltatoken=latest: nothing now, the next group later.
	latest, err := client.Groups().Delta().WithUrl(base+"/v1.0/groups/delta()?$deltatoken=latest").Get(ctx, nil)
	if err != nil {
		t.Fatalf("groups/delta() latest: %s", describe(err))
	}
	if len(latest.GetValue()) != 0 || deref(latest.GetOdataDeltaLink()) == "" {
		t.Fatalf("latest: %d groups, delta link %q", len(latest.GetValue()), deref(latest.GetOdataDeltaLink()))
	}
	g := createGroup(ctx, t, client, "urlforms")
	after, err := client.Groups().Delta().WithUrl(deref(latest.GetOdataDeltaLink())).Get(ctx, nil)
	if err != nil {
		t.Fatalf("groups/delta() after latest: %s", describe(err))
	}
	if got := objectIDs(after.GetValue()); !slices.Equal(got, []string{g}) {
		t.Errorf("groups/delta() after latest = %v, want [%s]", got, g)
	}

	// Type casts and their $count.
	inner := createGroup(ctx, t, client, "urlformsinner")
	addMember(ctx, t, client, base, g, u)
	addMember(ctx, t, client, base, g, inner)
	memberUsers, err := client.Groups().ByGroupId(g).Members().GraphUser().Get(ctx, nil)
	if err != nil {
		t.Fatalf("members/graph.user: %s", describe(err))
	}
	if got := objectIDs(memberUsers.GetValue()); !slices.Equal(got, []string{u}) {
		t.Errorf("members/graph.user = %v, want [%s]", got, u)
	}
	memberGroups, err := client.Groups().ByGroupId(g).Members().GraphGroup().Get(ctx, nil)
	if err != nil {
		t.Fatalf("members/graph.group: %s", describe(err))
	}
	if got := objectIDs(memberGroups.GetValue()); !slices.Equal(got, []string{inner}) {
		t.Errorf("members/graph.group = %v, want [%s]", got, inner)
	}
	userGroups, err := client.Users().ByUserId(u).MemberOf().GraphGroup().Get(ctx, nil)
	if err != nil {
		t.Fatalf("memberOf/graph.group: %s", describe(err))
	}
	if got := objectIDs(userGroups.GetValue()); !slices.Equal(got, []string{g}) {
		t.Errorf("memberOf/graph.group = %v, want [%s]", got, g)
	}
	n, err := client.Groups().ByGroupId(g).Members().Count().Get(ctx, &groups.ItemMembersCountRequestBuilderGetRequestConfiguration{Headers: eventual()})
	if err != nil || deref(n) != 2 {
		t.Errorf("members/$count = %d, %s; want 2", deref(n), describe(err))
	}
	n, err = client.Groups().ByGroupId(g).Members().GraphUser().Count().Get(ctx, &groups.ItemMembersGraphUserCountRequestBuilderGetRequestConfiguration{Headers: eventual()})
	if err != nil || deref(n) != 1 {
		t.Errorf("members/graph.user/$count = %d, %s; want 1", deref(n), describe(err))
	}
	n, err = client.Users().ByUserId(u).MemberOf().GraphGroup().Count().Get(ctx, &users.ItemMemberOfGraphGroupCountRequestBuilderGetRequestConfiguration{Headers: eventual()})
	if err != nil || deref(n) != 1 {
		t.Errorf("memberOf/graph.group/$count = %d, %s; want 1", deref(n), describe(err))
	}
	_, err = client.Groups().ByGroupId(g).Members().Count().Get(ctx, nil)
	assertODataError(t, err, []int{400}, "Request_BadRequest")
	_, err = otherClient.Groups().ByGroupId(g).Members().GraphUser().Get(ctx, nil)
	assertODataError(t, err, []int{404}, "Request_ResourceNotFound")

	// Deleted items by the SDK's cast segment.
	gone := createUser(ctx, t, client, "gone", membershipDomain)
	if err := client.Users().ByUserId(gone).Delete(ctx, nil); err != nil {
		t.Fatalf("DELETE /users/%s: %s", gone, describe(err))
	}
	deleted, err := client.Directory().DeletedItems().GraphUser().Get(ctx, nil)
	if err != nil {
		t.Fatalf("deletedItems/graph.user: %s", describe(err))
	}
	if got := objectIDs(deleted.GetValue()); !slices.Contains(got, gone) {
		t.Errorf("deletedItems/graph.user = %v, want %s among them", got, gone)
	}
	n, err = client.Directory().DeletedItems().GraphUser().Count().Get(ctx, &directory.DeletedItemsGraphUserCountRequestBuilderGetRequestConfiguration{Headers: eventual()})
	if err != nil || int(deref(n)) != len(deleted.GetValue()) {
		t.Errorf("deletedItems/graph.user/$count = %d, %s; want %d", deref(n), describe(err), len(deleted.GetValue()))
	}

	// Alternate keys.
	app := models.NewApplication()
	app.SetDisplayName(ptr("Alternate key"))
	created, err := client.Applications().Post(ctx, app, nil)
	if err != nil {
		t.Fatalf("POST /applications: %s", describe(err))
	}
	appID := created.GetAppId()
	byAppID, err := client.ApplicationsWithAppId(appID).Get(ctx, nil)
	if err != nil || deref(byAppID.GetId()) != deref(created.GetId()) {
		t.Fatalf("applications(appId=%s) = %v, %s", deref(appID), byAppID, describe(err))
	}
	rename := models.NewApplication()
	rename.SetDisplayName(ptr("Alternate key renamed"))
	if _, err := client.ApplicationsWithAppId(appID).Patch(ctx, rename, nil); err != nil {
		t.Fatalf("PATCH applications(appId=…): %s", describe(err))
	}
	sp := models.NewServicePrincipal()
	sp.SetAppId(appID)
	createdSP, err := client.ServicePrincipals().Post(ctx, sp, nil)
	if err != nil {
		t.Fatalf("POST /servicePrincipals: %s", describe(err))
	}
	spByAppID, err := client.ServicePrincipalsWithAppId(appID).Get(ctx, nil)
	if err != nil || deref(spByAppID.GetId()) != deref(createdSP.GetId()) {
		t.Fatalf("servicePrincipals(appId=…) = %v, %s", spByAppID, describe(err))
	}
	if deref(spByAppID.GetDisplayName()) == "" {
		t.Errorf("servicePrincipals(appId=…) has no displayName")
	}
	role, err := client.DirectoryRolesWithRoleTemplateId(ptr(globalAdministrator)).Get(ctx, nil)
	if err != nil || deref(role.GetRoleTemplateId()) != globalAdministrator {
		t.Fatalf("directoryRoles(roleTemplateId=…) = %v, %s", role, describe(err))
	}
	_, err = otherClient.ApplicationsWithAppId(appID).Get(ctx, nil)
	assertODataError(t, err, []int{404}, "Request_ResourceNotFound")
	if err := client.ApplicationsWithAppId(appID).Delete(ctx, nil); err != nil {
		t.Fatalf("DELETE applications(appId=…): %s", describe(err))
	}
	_, err = client.Applications().ByApplicationId(deref(created.GetId())).Get(ctx, nil)
	assertODataError(t, err, []int{404}, "Request_ResourceNotFound")
}

// testSDKAppRoleAssignedTo pages through an enterprise app's assignments
// and filters them by principal.
func testSDKAppRoleAssignedTo(ctx context.Context, t *testing.T, client *msgraphsdk.GraphServiceClient, principals ...string) {
	roleID := uuid.MustParse("9a8c3f56-2d1b-4e7a-8f60-1c2b3d4e5f60")
	role := models.NewAppRole()
	role.SetId(&roleID)
	role.SetAllowedMemberTypes([]string{"User"})
	role.SetValue(ptr("Reports.Read"))
	role.SetDisplayName(ptr("Reader"))
	role.SetDescription(ptr("Reads reports"))
	role.SetIsEnabled(ptr(true))
	app := models.NewApplication()
	app.SetDisplayName(ptr("Assigned app"))
	app.SetAppRoles([]models.AppRoleable{role})
	created, err := client.Applications().Post(ctx, app, nil)
	if err != nil {
		t.Fatalf("POST /applications with an app role: %s", describe(err))
	}
	sp := models.NewServicePrincipal()
	sp.SetAppId(created.GetAppId())
	createdSP, err := client.ServicePrincipals().Post(ctx, sp, nil)
	if err != nil {
		t.Fatalf("POST /servicePrincipals: %s", describe(err))
	}
	spID := deref(createdSP.GetId())
	resource := uuid.MustParse(spID)
	for _, p := range principals {
		principal := uuid.MustParse(p)
		a := models.NewAppRoleAssignment()
		a.SetPrincipalId(&principal)
		a.SetResourceId(&resource)
		a.SetAppRoleId(&roleID)
		if _, err := client.ServicePrincipals().ByServicePrincipalId(spID).AppRoleAssignedTo().Post(ctx, a, nil); err != nil {
			t.Fatalf("POST appRoleAssignedTo: %s", describe(err))
		}
	}
	var got []string
	page, err := client.ServicePrincipals().ByServicePrincipalId(spID).AppRoleAssignedTo().Get(ctx, &serviceprincipals.ItemAppRoleAssignedToRequestBuilderGetRequestConfiguration{
		QueryParameters: &serviceprincipals.ItemAppRoleAssignedToRequestBuilderGetQueryParameters{Top: ptr(int32(1))}})
	for range maxListed {
		if err != nil {
			t.Fatalf("appRoleAssignedTo: %s", describe(err))
		}
		if len(page.GetValue()) > 1 {
			t.Errorf("a page of %d assignments with $top=1", len(page.GetValue()))
		}
		for _, a := range page.GetValue() {
			got = append(got, a.GetPrincipalId().String())
		}
		next := deref(page.GetOdataNextLink())
		if next == "" {
			break
		}
		page, err = client.ServicePrincipals().ByServicePrincipalId(spID).AppRoleAssignedTo().WithUrl(next).Get(ctx, nil)
	}
	slices.Sort(got)
	if !slices.Equal(got, sorted(principals...)) {
		t.Errorf("appRoleAssignedTo pages = %v, want %v", got, principals)
	}
	filtered, err := client.ServicePrincipals().ByServicePrincipalId(spID).AppRoleAssignedTo().Get(ctx, &serviceprincipals.ItemAppRoleAssignedToRequestBuilderGetRequestConfiguration{
		QueryParameters: &serviceprincipals.ItemAppRoleAssignedToRequestBuilderGetQueryParameters{Filter: ptr("principalId eq " + principals[0])}})
	if err != nil || len(filtered.GetValue()) != 1 || filtered.GetValue()[0].GetPrincipalId().String() != principals[0] {
		t.Errorf("appRoleAssignedTo filtered by principal: %v, %s", filtered, describe(err))
	}
}
