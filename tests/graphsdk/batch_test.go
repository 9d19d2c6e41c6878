package graphsdk_test

import (
	"context"
	"errors"
	"testing"

	abstractions "github.com/microsoft/kiota-abstractions-go"
	msgraphcore "github.com/microsoftgraph/msgraph-sdk-go-core"
	"github.com/microsoftgraph/msgraph-sdk-go/models"
	"github.com/microsoftgraph/msgraph-sdk-go/models/odataerrors"
)

const batchDomain = "batch.graphsdk.test"

// TestBatchSDK sends JSON batches through msgraph-sdk-go-core's batch
// helper: a group created and a user read in one round trip, answers found
// by id and parsed into the SDK's models, a missing object's 404 as an
// ODataError, and a request depending on it refused with 424.
func TestBatchSDK(t *testing.T) {
	gh := buildGatehouse(t)
	tenant := gh.createTenant(t, "Graph SDK Batch", batchDomain)
	base := gh.serve(t)
	ctx, cancel := context.WithTimeout(t.Context(), testTimeout)
	defer cancel()
	client := newGraphClient(t, base, tenant)
	adapter := client.RequestAdapter

	user, err := client.Users().Post(ctx, newUserBody("ana@"+batchDomain, "Ana", "ana", "Analyst"), nil)
	if err != nil {
		t.Fatalf("create user: %s", describe(err))
	}

	group := models.NewGroup()
	group.SetDisplayName(ptr("Batched"))
	group.SetMailEnabled(ptr(false))
	group.SetMailNickname(ptr("batched"))
	group.SetSecurityEnabled(ptr(true))
	createInfo, err := client.Groups().ToPostRequestInformation(ctx, group, nil)
	if err != nil {
		t.Fatal(err)
	}
	readInfo, err := client.Users().ByUserId(deref(user.GetId())).ToGetRequestInformation(ctx, nil)
	if err != nil {
		t.Fatal(err)
	}
	missingInfo, err := client.Users().ByUserId("00000000-0000-4000-8000-000000000000").ToGetRequestInformation(ctx, nil)
	if err != nil {
		t.Fatal(err)
	}
	afterInfo, err := client.Groups().ToGetRequestInformation(ctx, nil)
	if err != nil {
		t.Fatal(err)
	}

	batch := msgraphcore.NewBatchRequest(adapter)
	create, err := batch.AddBatchRequestStep(*createInfo)
	if err != nil {
		t.Fatal(err)
	}
	read, err := batch.AddBatchRequestStep(*readInfo)
	if err != nil {
		t.Fatal(err)
	}
	read.DependsOnItem(create)
	missing, err := batch.AddBatchRequestStep(*missingInfo)
	if err != nil {
		t.Fatal(err)
	}
	after, err := batch.AddBatchRequestStep(*afterInfo)
	if err != nil {
		t.Fatal(err)
	}
	after.DependsOnItem(missing)

	// As the SDK's documentation has it: the batch helper maps failed
	// answers to errors through this registry.
	if err := msgraphcore.RegisterError(msgraphcore.BatchRequestErrorRegistryKey, abstractions.ErrorMappings{
		"4XX": odataerrors.CreateODataErrorFromDiscriminatorValue, "5XX": odataerrors.CreateODataErrorFromDiscriminatorValue}); err != nil {
		t.Fatal(err)
	}
	resp, err := batch.Send(ctx, adapter)
	if err != nil {
		t.Fatalf("send batch: %s", describe(err))
	}
	if n := len(resp.GetResponses()); n != 4 {
		t.Fatalf("%d responses, want 4", n)
	}
	created, err := msgraphcore.GetBatchResponseById[models.Groupable](resp, deref(create.GetId()), models.CreateGroupFromDiscriminatorValue)
	if err != nil || deref(created.GetDisplayName()) != "Batched" || created.GetId() == nil {
		t.Errorf("created group: %s", describe(err))
	}
	got, err := msgraphcore.GetBatchResponseById[models.Userable](resp, deref(read.GetId()), models.CreateUserFromDiscriminatorValue)
	if err != nil || deref(got.GetId()) != deref(user.GetId()) || deref(got.GetDisplayName()) != "Ana" {
		t.Errorf("read user: %s", describe(err))
	}
	_, err = msgraphcore.GetBatchResponseById[models.Userable](resp, deref(missing.GetId()), models.CreateUserFromDiscriminatorValue)
	var oerr *odataerrors.ODataError
	if !errors.As(err, &oerr) || oerr.GetErrorEscaped() == nil || deref(oerr.GetErrorEscaped().GetCode()) != "Request_ResourceNotFound" {
		t.Errorf("missing user: %s", describe(err))
	}
	if s := resp.GetFailedResponses()[deref(after.GetId())]; s != 424 {
		t.Errorf("request after a failed dependency: status %d, want 424", s)
	}

	groups, err := client.Groups().Get(ctx, nil)
	if err != nil || len(groups.GetValue()) != 1 {
		t.Errorf("groups after the batch: %s", describe(err))
	}
}
