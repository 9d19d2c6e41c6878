// Package audit owns a tenant's directory audit log and sign-in log: the
// record types in Microsoft Graph's shapes (directoryAudit, signIn), how
// they are filtered and ordered ($filter, $orderby), reading them, and
// writing sign-ins (interactive ones at once, non-interactive ones in
// batches). Directory writes append their own audit records inside their
// transactions (internal/directory); housekeeping purges old records.
package audit

import (
	"encoding/json"
	"fmt"
	"strings"
	"time"

	"github.com/gatehouse-id/gatehouse/internal/jsonw"
	"github.com/gatehouse-id/gatehouse/internal/odata"
	"github.com/gatehouse-id/gatehouse/internal/store"
)

// Categories of directory audit records, as Entra names them.
const (
	CategoryUserManagement        = "UserManagement"
	CategoryGroupManagement       = "GroupManagement"
	CategoryApplicationManagement = "ApplicationManagement"
	CategoryRoleManagement        = "RoleManagement"
	CategoryPolicy                = "Policy"
	CategoryDirectoryManagement   = "DirectoryManagement"
	CategoryOther                 = "Other"
)

// LoggedByService is the service that writes directory audit records.
const LoggedByService = "Core Directory"

// SystemName initiates what no caller asked for: first start, tenant
// creation from the command line, housekeeping.
const SystemName = "Gatehouse"

// DirectoryAudit is Graph's directoryAudit.
type DirectoryAudit struct {
	ID                  string           `json:"id"`
	ActivityDateTime    time.Time        `json:"activityDateTime"`
	ActivityDisplayName string           `json:"activityDisplayName"`
	Category            string           `json:"category"`
	CorrelationID       string           `json:"correlationId"`
	InitiatedBy         Initiator        `json:"initiatedBy"`
	LoggedByService     string           `json:"loggedByService"`
	OperationType       string           `json:"operationType"`
	Result              string           `json:"result"`
	ResultReason        string           `json:"resultReason"`
	TargetResources     []TargetResource `json:"targetResources"`
	AdditionalDetails   []KeyValue       `json:"additionalDetails"`
}

// Initiator is Graph's auditActivityInitiator: a user or an app.
type Initiator struct {
	User *UserIdentity `json:"user"`
	App  *AppIdentity  `json:"app"`
}

// UserIdentity is Graph's userIdentity.
type UserIdentity struct {
	ID                string `json:"id"`
	DisplayName       string `json:"displayName"`
	UserPrincipalName string `json:"userPrincipalName"`
	IPAddress         string `json:"ipAddress"`
}

// AppIdentity is Graph's appIdentity.
type AppIdentity struct {
	AppID                string `json:"appId"`
	DisplayName          string `json:"displayName"`
	ServicePrincipalID   string `json:"servicePrincipalId"`
	ServicePrincipalName string `json:"servicePrincipalName"`
}

// TargetResource is Graph's targetResource.
type TargetResource struct {
	ID                 string             `json:"id"`
	DisplayName        string             `json:"displayName"`
	Type               string             `json:"type"`
	UserPrincipalName  string             `json:"userPrincipalName"`
	ModifiedProperties []ModifiedProperty `json:"modifiedProperties"`
}

// ModifiedProperty is Graph's modifiedProperty: values are JSON text, nil
// when absent or withheld (secrets are named, never shown).
type ModifiedProperty struct {
	DisplayName string  `json:"displayName"`
	OldValue    *string `json:"oldValue"`
	NewValue    *string `json:"newValue"`
}

// KeyValue is Graph's keyValue.
type KeyValue struct {
	Key   string `json:"key"`
	Value string `json:"value"`
}

// Record is the stored form of a directory audit entry of a tenant.
func (a DirectoryAudit) Record(tenantID string) (store.AuditRecord, error) {
	if a.TargetResources == nil {
		a.TargetResources = []TargetResource{}
	}
	if a.AdditionalDetails == nil {
		a.AdditionalDetails = []KeyValue{}
	}
	for i, t := range a.TargetResources {
		if t.ModifiedProperties == nil {
			a.TargetResources[i].ModifiedProperties = []ModifiedProperty{}
		}
	}
	data, err := json.Marshal(a)
	r := store.AuditRecord{TenantID: tenantID, Log: store.LogDirectoryAudit, ID: a.ID, At: a.ActivityDateTime,
		Category: a.Category, Activity: a.ActivityDisplayName, Result: a.Result, Data: data}
	if a.InitiatedBy.User != nil {
		r.UserID, r.UPN = strings.ToLower(a.InitiatedBy.User.ID), a.InitiatedBy.User.UserPrincipalName
	}
	if a.InitiatedBy.App != nil {
		r.AppID = strings.ToLower(a.InitiatedBy.App.AppID)
	}
	return r, err
}

// SignIn is Graph's signIn (v1.0), with the properties Gatehouse knows,
// and beta's crossTenantAccessType: whether a guest signed in (b2bCollaboration).
type SignIn struct {
	ID                               string       `json:"id"`
	CreatedDateTime                  time.Time    `json:"createdDateTime"`
	UserID                           string       `json:"userId"`
	UserDisplayName                  string       `json:"userDisplayName"`
	UserPrincipalName                string       `json:"userPrincipalName"`
	AppID                            string       `json:"appId"`
	AppDisplayName                   string       `json:"appDisplayName"`
	ServicePrincipalID               string       `json:"servicePrincipalId"`
	IPAddress                        string       `json:"ipAddress"`
	UserAgent                        string       `json:"userAgent"`
	ClientAppUsed                    string       `json:"clientAppUsed"`
	CorrelationID                    string       `json:"correlationId"`
	ConditionalAccessStatus          string       `json:"conditionalAccessStatus"`
	AppliedConditionalAccessPolicies []any        `json:"appliedConditionalAccessPolicies"`
	IsInteractive                    bool         `json:"isInteractive"`
	ResourceDisplayName              string       `json:"resourceDisplayName"`
	ResourceID                       string       `json:"resourceId"`
	ResourceTenantID                 string       `json:"resourceTenantId"`
	HomeTenantID                     string       `json:"homeTenantId"`
	Status                           SignInStatus `json:"status"`
	RiskDetail                       string       `json:"riskDetail"`
	RiskLevelAggregated              string       `json:"riskLevelAggregated"`
	RiskLevelDuringSignIn            string       `json:"riskLevelDuringSignIn"`
	RiskState                        string       `json:"riskState"`
	CrossTenantAccessType            string       `json:"crossTenantAccessType"` // beta's signInAccessType, served on v1.0 too
}

// SignInStatus is Graph's signInStatus: ErrorCode 0 is success, else
// Entra's AADSTS code.
type SignInStatus struct {
	ErrorCode         int     `json:"errorCode"`
	FailureReason     string  `json:"failureReason"`
	AdditionalDetails *string `json:"additionalDetails"`
}

// Record is the stored form of a sign-in of a tenant: the record's columns
// and a document of what may differ between two sign-ins (signInDoc).
func (s SignIn) Record(tenantID string) store.AuditRecord {
	result := "success"
	if s.Status.ErrorCode != 0 {
		result = "failure"
	}
	doc := signInDoc{
		UserID: s.UserID, UserDisplayName: s.UserDisplayName, UserPrincipalName: s.UserPrincipalName,
		AppID: s.AppID, AppDisplayName: s.AppDisplayName, ServicePrincipalID: s.ServicePrincipalID,
		IPAddress: s.IPAddress, UserAgent: s.UserAgent, ClientAppUsed: s.ClientAppUsed, CorrelationID: s.CorrelationID,
		ConditionalAccessStatus: s.ConditionalAccessStatus, IsInteractive: s.IsInteractive,
		ResourceTenantID: s.ResourceTenantID, HomeTenantID: s.HomeTenantID, CrossTenantAccessType: s.CrossTenantAccessType,
	}
	if s.Status.ErrorCode != 0 {
		doc.Status = &signInDocStatus{ErrorCode: s.Status.ErrorCode, FailureReason: s.Status.FailureReason}
	}
	return store.AuditRecord{TenantID: tenantID, Log: store.LogSignIn, ID: s.ID, At: s.CreatedDateTime,
		UserID: strings.ToLower(s.UserID), AppID: strings.ToLower(s.AppID), UPN: s.UserPrincipalName,
		Result: result, ErrorCode: s.Status.ErrorCode, Data: doc.appendJSON(make([]byte, 0, 512))}
}

// signInDoc is a sign-in as the log stores it: what may differ from one
// sign-in to the next. Its id and time are the record's columns, and what
// every Gatehouse sign-in says alike (the resource, risk not assessed, no
// conditional access policy applied, a success's failure reason) is filled
// in when it is read (presentSignIn). The properties $filter may name are
// always there, empty or not, so that a filter reads them as before. Half
// the bytes of the whole signIn, and each token request writes one.
type signInDoc struct {
	UserID                  string           `json:"userId,omitempty"`
	UserDisplayName         string           `json:"userDisplayName"`
	UserPrincipalName       string           `json:"userPrincipalName,omitempty"`
	AppID                   string           `json:"appId,omitempty"`
	AppDisplayName          string           `json:"appDisplayName"`
	ServicePrincipalID      string           `json:"servicePrincipalId,omitempty"`
	IPAddress               string           `json:"ipAddress"`
	UserAgent               string           `json:"userAgent,omitempty"`
	ClientAppUsed           string           `json:"clientAppUsed"`
	CorrelationID           string           `json:"correlationId"`
	ConditionalAccessStatus string           `json:"conditionalAccessStatus"`
	IsInteractive           bool             `json:"isInteractive"`
	ResourceTenantID        string           `json:"resourceTenantId"`
	HomeTenantID            string           `json:"homeTenantId"`
	CrossTenantAccessType   string           `json:"crossTenantAccessType"`
	Status                  *signInDocStatus `json:"status,omitempty"` // failures only
}

type signInDocStatus struct {
	ErrorCode     int    `json:"errorCode"`
	FailureReason string `json:"failureReason"`
}

// appendJSON is json.Marshal of d without reflection: every token request
// writes one (TestSignInDocIsEncodingJSON).
func (d signInDoc) appendJSON(b []byte) []byte {
	o := jsonw.Object{B: b}
	o.StrOmit("userId", d.UserID)
	o.Str("userDisplayName", d.UserDisplayName)
	o.StrOmit("userPrincipalName", d.UserPrincipalName)
	o.StrOmit("appId", d.AppID)
	o.Str("appDisplayName", d.AppDisplayName)
	o.StrOmit("servicePrincipalId", d.ServicePrincipalID)
	o.Str("ipAddress", d.IPAddress)
	o.StrOmit("userAgent", d.UserAgent)
	o.Str("clientAppUsed", d.ClientAppUsed)
	o.Str("correlationId", d.CorrelationID)
	o.Str("conditionalAccessStatus", d.ConditionalAccessStatus)
	o.Bool("isInteractive", d.IsInteractive)
	o.Str("resourceTenantId", d.ResourceTenantID)
	o.Str("homeTenantId", d.HomeTenantID)
	o.Str("crossTenantAccessType", d.CrossTenantAccessType)
	if d.Status != nil {
		o.Key("status")
		st := jsonw.Object{B: o.B}
		st.Int("errorCode", int64(d.Status.ErrorCode))
		st.Str("failureReason", d.Status.FailureReason)
		o.B = st.End()
	}
	return o.End()
}

// presentSignIn is a stored sign-in as Graph's signIn. Records written
// before signInDoc hold the whole signIn; they read the same, since what
// they hold overrides what is filled in.
func presentSignIn(r store.AuditRecord) (json.RawMessage, error) {
	s := SignIn{
		ID: r.ID, CreatedDateTime: r.At.UTC(), ConditionalAccessStatus: "notApplied", AppliedConditionalAccessPolicies: []any{},
		ResourceDisplayName: graphDisplayName, ResourceID: graphAppID,
		ResourceTenantID: r.TenantID, HomeTenantID: r.TenantID,
		RiskDetail: "none", RiskLevelAggregated: "none", RiskLevelDuringSignIn: "none", RiskState: "none",
		Status: SignInStatus{ErrorCode: r.ErrorCode},
	}
	if err := json.Unmarshal(r.Data, &s); err != nil {
		return nil, fmt.Errorf("audit: sign-in %s: %w", r.ID, err)
	}
	if s.Status.ErrorCode == 0 && s.Status.FailureReason == "" {
		s.Status.FailureReason = "Other."
	}
	return json.Marshal(s)
}

// present is a stored record of log as its Graph document.
func present(log string, r store.AuditRecord) (json.RawMessage, error) {
	if log == store.LogSignIn {
		return presentSignIn(r)
	}
	return json.RawMessage(r.Data), nil
}

func ops(o ...string) []string { return o }

// column is a property held in a typed column of the audit table.
func column(name, col string, typ odata.PropType, o ...string) odata.Property {
	return odata.Property{Name: name, Type: typ, Column: col, Folded: typ == odata.TypeString, Ops: o}
}

func docString(name string, o ...string) odata.Property {
	return odata.Property{Name: name, Type: odata.TypeString, Ops: o}
}

var timeOps = ops("eq", "ge", "le", "gt", "lt")

// DirectoryAuditSchema is what $filter and $orderby may use on directoryAudits.
var DirectoryAuditSchema = &odata.Schema{Resource: "directoryAudit", Properties: map[string]odata.Property{
	"activityDateTime":                   {Name: "activityDateTime", Type: odata.TypeDateTime, Column: "created_at", Sortable: true, Ops: timeOps},
	"category":                           column("category", "category", odata.TypeString, "eq"),
	"activityDisplayName":                column("activityDisplayName", "activity", odata.TypeString, "eq", "startsWith"),
	"initiatedBy/user/id":                column("initiatedBy/user/id", "user_id", odata.TypeString, "eq"),
	"initiatedBy/user/userPrincipalName": column("initiatedBy/user/userPrincipalName", "upn", odata.TypeString, "eq", "startsWith"),
	"initiatedBy/app/appId":              column("initiatedBy/app/appId", "app_id", odata.TypeString, "eq"),
	"initiatedBy/app/displayName":        docString("initiatedBy/app/displayName", "eq", "not", "startsWith"),
	"result":                             column("result", "result", odata.TypeString, "eq"),
	"correlationId":                      docString("correlationId", "eq"),
	"loggedByService":                    docString("loggedByService", "eq"),
	"operationType":                      docString("operationType", "eq"),
	"targetResources": {Name: "targetResources", Type: odata.TypeComplexCollection, Ops: ops("any"), Fields: map[string]odata.Property{
		"id":                docString("id", "eq"),
		"displayName":       docString("displayName", "eq", "startsWith"),
		"userPrincipalName": docString("userPrincipalName", "eq", "startsWith"),
		"type":              docString("type", "eq"),
	}},
}}

// SignInSchema is what $filter and $orderby may use on signIns.
var SignInSchema = &odata.Schema{Resource: "signIn", Properties: map[string]odata.Property{
	"createdDateTime":         {Name: "createdDateTime", Type: odata.TypeDateTime, Column: "created_at", Sortable: true, Ops: timeOps},
	"userId":                  column("userId", "user_id", odata.TypeString, "eq"),
	"userPrincipalName":       column("userPrincipalName", "upn", odata.TypeString, "eq", "startsWith"),
	"userDisplayName":         docString("userDisplayName", "eq", "startsWith"),
	"appId":                   column("appId", "app_id", odata.TypeString, "eq"),
	"appDisplayName":          docString("appDisplayName", "eq", "startsWith"),
	"ipAddress":               docString("ipAddress", "eq", "startsWith"),
	"correlationId":           docString("correlationId", "eq"),
	"clientAppUsed":           docString("clientAppUsed", "eq"),
	"conditionalAccessStatus": docString("conditionalAccessStatus", "eq"),
	"status/errorCode":        column("status/errorCode", "error_code", odata.TypeInt, "eq"),
	"isInteractive":           {Name: "isInteractive", Type: odata.TypeBool, Ops: ops("eq")},
	"homeTenantId":            docString("homeTenantId", "eq"),
	"resourceTenantId":        docString("resourceTenantId", "eq"),
	"crossTenantAccessType":   docString("crossTenantAccessType", "eq"),
}}
