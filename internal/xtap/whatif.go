package xtap

import (
	"strings"

	"github.com/gatehouse-id/gatehouse/internal/directory"
)

// WhatIf is a validated body of POST /v1.0/policies/crossTenantAccessPolicy/evaluate
// (our extension): which access, by whom from which home tenant, to which
// application. The caller (an admin of the resource tenant) resolves the
// user and their home groups, builds an Input with the same compiled
// policies enforcement uses, and returns Evaluate's Result.
type WhatIf struct {
	AccessType AccessType
	// HomeTenantID is the user's home tenant; empty only when
	// InvitedUserEmailAddress is given, for the caller to find the home
	// tenant from the address's domain (a tenant that has verified it).
	HomeTenantID string
	// UserID is the user's object id in the home tenant, or
	// InvitedUserEmailAddress the address of someone not yet invited:
	// exactly one is set.
	UserID, InvitedUserEmailAddress string
	// AppID is optional: empty asks about a sign-in naming no application.
	AppID string
}

// ParseWhatIf validates a what-if request body.
func ParseWhatIf(body []byte) (WhatIf, error) {
	o, isNull, err := parseObject("", body)
	if err != nil {
		return WhatIf{}, err
	}
	if isNull {
		return WhatIf{}, invalid("The request body must be a JSON object.")
	}
	var w WhatIf
	for _, k := range o.keys() {
		v := o[k]
		var s string
		if s, err = parseString(k, v); err != nil {
			return WhatIf{}, err
		}
		s = strings.TrimSpace(s)
		switch k {
		case "accessType":
			w.AccessType, err = ParseAccessType(s)
		case "homeTenantId":
			w.HomeTenantID, err = TenantID(s)
		case "userId":
			if !directory.IsGUID(s) {
				err = invalid("Invalid value '%s' for property 'userId': use the user's object id (a GUID) in the home tenant.", s)
			}
			w.UserID = strings.ToLower(s)
		case "invitedUserEmailAddress":
			if at := strings.LastIndexByte(s, '@'); at <= 0 || at == len(s)-1 || strings.ContainsAny(s, " \t\r\n") || len(s) > 254 {
				err = invalid("Invalid value '%s' for property 'invitedUserEmailAddress': use an email address.", s)
			}
			w.InvitedUserEmailAddress = s
		case "appId":
			if !directory.IsGUID(s) {
				err = invalid("Invalid value '%s' for property 'appId': use the application's appId (a GUID), or leave it out.", s)
			}
			w.AppID = strings.ToLower(s)
		default:
			err = invalid("Property '%s' is not one the evaluate request takes: accessType, homeTenantId, userId or invitedUserEmailAddress, appId.", k)
		}
		if err != nil {
			return WhatIf{}, err
		}
	}
	switch {
	case w.AccessType == "":
		return WhatIf{}, invalid("Property 'accessType' is required: b2bCollaboration or b2bDirectConnect.")
	case w.UserID == "" && w.InvitedUserEmailAddress == "":
		return WhatIf{}, invalid("Give either 'userId' (the user's object id in the home tenant) or 'invitedUserEmailAddress'.")
	case w.UserID != "" && w.InvitedUserEmailAddress != "":
		return WhatIf{}, invalid("Give 'userId' or 'invitedUserEmailAddress', not both.")
	case w.HomeTenantID == "" && w.UserID != "":
		return WhatIf{}, invalid("Property 'homeTenantId' is required with 'userId'.")
	}
	return w, nil
}
