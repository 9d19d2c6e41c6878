package directory

import (
	"context"
	"errors"
	"fmt"

	"github.com/gatehouse-id/gatehouse/internal/odata"
	"github.com/gatehouse-id/gatehouse/internal/store"
)

func errf(format string, args ...any) error { return fmt.Errorf(format, args...) }

func isNotFound(err error) bool { return errors.Is(err, store.ErrNotFound) }

// initialDomain returns the tenant's initial domain: the issuer of its local
// identities and the domain of generated user principal names.
func initialDomain(ctx context.Context, tx store.Tx, tenantID string) (string, error) {
	doms, err := tx.ListDomains(ctx, tenantID)
	if err != nil {
		return "", err
	}
	for _, d := range doms {
		if d.Initial {
			return d.Name, nil
		}
	}
	return "", fmt.Errorf("tenant %s has no initial domain", tenantID)
}

func upnEndsWith(suffix string) odata.Expr {
	return odata.Func{Name: "endsWith", Property: odata.Path{Segments: []string{"userPrincipalName"}}, Arg: odata.Literal{Kind: odata.LitString, Text: suffix}}
}
