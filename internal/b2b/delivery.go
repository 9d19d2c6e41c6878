package b2b

import (
	"context"

	"github.com/gatehouse-id/gatehouse/internal/audit"
	"github.com/gatehouse-id/gatehouse/internal/directory"
	"github.com/gatehouse-id/gatehouse/internal/mail"
	"github.com/gatehouse-id/gatehouse/internal/store"
)

// Delivered records the outcome of an invitation email in the inviting
// tenant's audit log (the outbox's delivery reporter): sent, or refused
// for good (a bounce). Attempts that will be retried are not recorded,
// nor are other messages (one-time passcodes say nothing an audit needs).
func (s *Service) Delivered(ctx context.Context, tx store.Tx, msg mail.Message, err error, final bool) {
	if msg.Report.Kind != "invitation" || msg.Report.TenantID == "" || err != nil && !final {
		return
	}
	a := audit.DirectoryAudit{ActivityDisplayName: directory.ActivityInvitationEmail, Category: audit.CategoryUserManagement,
		LoggedByService: loggedBy, OperationType: "Send",
		TargetResources:   []audit.TargetResource{{ID: msg.Report.ObjectID, Type: "User"}},
		AdditionalDetails: []audit.KeyValue{{Key: "messageId", Value: msg.MessageID}}}
	if err != nil {
		a.Result, a.ResultReason = "failure", err.Error()
	}
	directory.Note(tx, msg.Report.TenantID, a)
}
