package b2b

import (
	"net"
	netmail "net/mail"
	"net/url"
	"slices"
	"strings"

	"github.com/gatehouse-id/gatehouse/internal/directory"
	"github.com/gatehouse-id/gatehouse/internal/mail"
	"github.com/gatehouse-id/gatehouse/internal/usererr"
)

// invitation is a validated POST /invitations body.
type invitation struct {
	Email       string
	DisplayName string
	RedirectURL string
	UserType    string // Guest or Member
	Send        bool
	Reset       bool
	UserID      string // invitedUser.id, required with Reset
	// Message customization: CustomBody is plain text; Language is as
	// given ("" when absent).
	CustomBody, Language string
	HasCustomBody        bool
	Cc                   []mail.Address
	Sponsors             []string
}

// Limits Graph documents (sponsors, CC) or that keep an email readable.
const (
	maxSponsors   = 5
	maxCc         = 1
	maxCustomBody = 10000
	maxRedirect   = 2048
)

// readOnly properties of an invitation are ignored in a request, as Graph
// does, so a client may post back what it read.
var readOnly = map[string]bool{"id": true, "inviteRedeemUrl": true, "status": true, "@odata.type": true}

func badRequest(format string, args ...any) error {
	return usererr.New(usererr.Invalid, format, args...)
}

// parseInvitation validates a POST /invitations body as graph-api.md §1
// describes it.
func parseInvitation(body directory.Doc) (invitation, error) {
	var in invitation
	for k, v := range body {
		var err error
		switch k {
		case "invitedUserEmailAddress":
			in.Email, err = stringProp(k, v)
		case "inviteRedirectUrl":
			in.RedirectURL, err = stringProp(k, v)
		case "invitedUserDisplayName":
			in.DisplayName, err = optStringProp(k, v)
		case "invitedUserType":
			in.UserType, err = optStringProp(k, v)
		case "sendInvitationMessage":
			in.Send, err = boolProp(k, v)
		case "resetRedemption":
			in.Reset, err = boolProp(k, v)
		case "invitedUser":
			in.UserID, err = refID(k, v)
		case "invitedUserSponsors":
			in.Sponsors, err = sponsors(v)
		case "invitedUserMessageInfo":
			err = messageInfo(&in, v)
		default:
			if !readOnly[k] {
				err = badRequest("Property '%s' does not exist on type 'microsoft.graph.invitation'.", k)
			}
		}
		if err != nil {
			return invitation{}, err
		}
	}
	if in.Email == "" {
		return invitation{}, badRequest("Property 'invitedUserEmailAddress' is required.")
	}
	if err := CheckInvitedEmail(in.Email); err != nil {
		return invitation{}, err
	}
	if in.RedirectURL == "" {
		return invitation{}, badRequest("Property 'inviteRedirectUrl' is required.")
	}
	if err := CheckRedirectURL(in.RedirectURL); err != nil {
		return invitation{}, err
	}
	switch {
	case in.UserType == "" || strings.EqualFold(in.UserType, "Guest"):
		in.UserType = "Guest"
	case strings.EqualFold(in.UserType, "Member"):
		in.UserType = "Member"
	default:
		return invitation{}, badRequest("Property 'invitedUserType' must be Guest or Member.")
	}
	if len(in.DisplayName) > 256 {
		return invitation{}, badRequest("Property 'invitedUserDisplayName' is longer than 256 characters.")
	}
	if in.Reset && in.UserID == "" {
		return invitation{}, badRequest("Property 'invitedUser' with the user's id is required when resetRedemption is true.")
	}
	if !in.Reset && in.UserID != "" {
		return invitation{}, badRequest("Property 'invitedUser' may be given only with resetRedemption.")
	}
	return in, nil
}

func stringProp(name string, v any) (string, error) {
	s, ok := v.(string)
	if !ok {
		return "", badRequest("Property '%s' must be a string.", name)
	}
	return strings.TrimSpace(s), nil
}

func optStringProp(name string, v any) (string, error) {
	if v == nil {
		return "", nil
	}
	return stringProp(name, v)
}

func boolProp(name string, v any) (bool, error) {
	if v == nil {
		return false, nil
	}
	b, ok := v.(bool)
	if !ok {
		return false, badRequest("Property '%s' must be a boolean.", name)
	}
	return b, nil
}

// refID reads a {"id": "…"} reference.
func refID(name string, v any) (string, error) {
	if v == nil {
		return "", nil
	}
	m, ok := v.(map[string]any)
	if !ok {
		return "", badRequest("Property '%s' must be an object with an id.", name)
	}
	id, ok := m["id"].(string)
	if !ok || strings.TrimSpace(id) == "" {
		return "", badRequest("Property '%s' must be an object with an id.", name)
	}
	return strings.TrimSpace(id), nil
}

func sponsors(v any) ([]string, error) {
	if v == nil {
		return nil, nil
	}
	list, ok := v.([]any)
	if !ok {
		return nil, badRequest("Property 'invitedUserSponsors' must be a collection of objects with an id.")
	}
	if len(list) > maxSponsors {
		return nil, badRequest("An invitation names at most %d sponsors.", maxSponsors)
	}
	var out []string
	for _, e := range list {
		id, err := refID("invitedUserSponsors", e)
		if err != nil || id == "" {
			return nil, badRequest("Property 'invitedUserSponsors' must be a collection of objects with an id.")
		}
		if !slices.Contains(out, id) {
			out = append(out, id)
		}
	}
	return out, nil
}

func messageInfo(in *invitation, v any) error {
	if v == nil {
		return nil
	}
	m, ok := v.(map[string]any)
	if !ok {
		return badRequest("Property 'invitedUserMessageInfo' must be an object.")
	}
	for k, v := range m {
		var err error
		switch k {
		case "customizedMessageBody":
			if v != nil {
				in.HasCustomBody = true
				s, ok := v.(string)
				if !ok {
					return badRequest("Property 'customizedMessageBody' must be a string.")
				}
				in.CustomBody = s
			}
		case "messageLanguage":
			in.Language, err = optStringProp(k, v)
		case "ccRecipients":
			in.Cc, err = ccRecipients(v)
		case "@odata.type":
		default:
			err = badRequest("Property '%s' does not exist on type 'microsoft.graph.invitedUserMessageInfo'.", k)
		}
		if err != nil {
			return err
		}
	}
	if len(in.CustomBody) > maxCustomBody {
		return badRequest("Property 'customizedMessageBody' is longer than %d characters.", maxCustomBody)
	}
	if len(in.Language) > 20 {
		return badRequest("Property 'messageLanguage' is not a language tag.")
	}
	return nil
}

func ccRecipients(v any) ([]mail.Address, error) {
	if v == nil {
		return nil, nil
	}
	list, ok := v.([]any)
	if !ok {
		return nil, badRequest("Property 'ccRecipients' must be a collection of recipients.")
	}
	if len(list) > maxCc {
		return nil, badRequest("Only one CC recipient is supported.")
	}
	var out []mail.Address
	for _, e := range list {
		r, _ := e.(map[string]any)
		ea, _ := r["emailAddress"].(map[string]any)
		addr, _ := ea["address"].(string)
		name, _ := ea["name"].(string)
		if addr == "" {
			return nil, badRequest("Each CC recipient needs emailAddress.address.")
		}
		if err := CheckInvitedEmail(addr); err != nil {
			return nil, badRequest("The CC recipient's address '%s' is not a valid email address.", addr)
		}
		out = append(out, mail.Address{Name: name, Address: addr})
	}
	return out, nil
}

// rejected are the characters Graph refuses in an invited address.
const rejected = "~!#$%^&*()+=[]{}\\/|;:\"<>?,"

// CheckInvitedEmail applies Graph's rules for invitedUserEmailAddress:
// none of ~ ! # $ % ^ & * ( ) + = [ ] { } \ / | ; : " < > ? , anywhere;
// '.' and '-' not at the start or end of the local part; '_' anywhere;
// and, since the address becomes the guest's mail, ASCII without spaces
// on a domain of DNS labels.
func CheckInvitedEmail(email string) error {
	bad := badRequest("The invited email address '%s' is not valid.", email)
	local, domain, ok := strings.Cut(email, "@")
	if !ok || local == "" || domain == "" || strings.Contains(domain, "@") {
		return bad
	}
	for _, r := range email {
		if r <= ' ' || r >= 0x7f || strings.ContainsRune(rejected, r) {
			return bad
		}
	}
	if strings.ContainsAny(local[:1], ".-") || strings.ContainsAny(local[len(local)-1:], ".-") || strings.Contains(local, "..") {
		return bad
	}
	if !dnsName(domain) {
		return bad
	}
	// What the directory stores as mail must read back as itself.
	if a, err := netmail.ParseAddress(email); err != nil || a.Address != email {
		return bad
	}
	return nil
}

func dnsName(d string) bool {
	labels := strings.Split(d, ".")
	if len(labels) < 2 || len(d) > 253 {
		return false
	}
	for _, l := range labels {
		if l == "" || len(l) > 63 || l[0] == '-' || l[len(l)-1] == '-' {
			return false
		}
		for _, r := range l {
			if !(r >= 'a' && r <= 'z' || r >= 'A' && r <= 'Z' || r >= '0' && r <= '9' || r == '-') {
				return false
			}
		}
	}
	return true
}

// CheckRedirectURL admits an inviteRedirectUrl: an absolute https URL, or
// http to a loopback host (a developer's machine). Anything else — other
// schemes such as javascript: and data:, relative URLs — would send the
// guest somewhere the redemption page must not.
func CheckRedirectURL(raw string) error {
	bad := badRequest("Property 'inviteRedirectUrl' must be an absolute https URL (http only for localhost).")
	if len(raw) > maxRedirect {
		return bad
	}
	u, err := url.Parse(raw)
	if err != nil || u.Host == "" || u.User != nil || u.Opaque != "" {
		return bad
	}
	switch strings.ToLower(u.Scheme) {
	case "https":
		return nil
	case "http":
		if loopback(u.Hostname()) {
			return nil
		}
	}
	return bad
}

func loopback(host string) bool {
	if strings.EqualFold(host, "localhost") {
		return true
	}
	ip := net.ParseIP(host)
	return ip != nil && ip.IsLoopback()
}

// GuestUPN is the user principal name Entra gives an invited address:
// its '@' replaced by '_', then "#EXT#@" and the tenant's initial domain.
func GuestUPN(email, initialDomain string) string {
	local, domain, _ := strings.Cut(email, "@")
	return local + "_" + domain + "#EXT#@" + initialDomain
}
