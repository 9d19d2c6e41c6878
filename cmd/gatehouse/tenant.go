package main

import (
	"bufio"
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"strings"
	"text/tabwriter"
	"time"

	"github.com/spf13/cobra"

	"github.com/gatehouse-id/gatehouse/internal/app"
	"github.com/gatehouse-id/gatehouse/internal/directory"
	"github.com/gatehouse-id/gatehouse/internal/store"
	"github.com/gatehouse-id/gatehouse/internal/usererr"
)

// withDirectory opens the store sf names and runs fn with the directory
// over it, as the tenant commands do beside running servers.
func withDirectory(ctx context.Context, sf storeFlags, fn func(*directory.Service) error) error {
	if err := sf.absolute(); err != nil {
		return err
	}
	st, err := app.OpenStore(ctx, sf.store, sf.dataDir)
	if err != nil {
		return err
	}
	defer st.Close()
	dir, err := app.NewDirectory(st, "", "")
	if err != nil {
		return err
	}
	err = fn(dir)
	if ue, ok := usererr.As(err); ok {
		return errors.New(ue.Message)
	}
	return err
}

// tenantJSONOut is a tenant as list and show --json print it.
type tenantJSONOut struct {
	ID          string          `json:"id"`
	DisplayName string          `json:"displayName"`
	Type        string          `json:"type"`
	CreatedAt   time.Time       `json:"createdDateTime"`
	Domains     []domainJSONOut `json:"domains,omitempty"`
}

type domainJSONOut struct {
	Name     string `json:"id"`
	Verified bool   `json:"isVerified"`
	Default  bool   `json:"isDefault"`
	Initial  bool   `json:"isInitial"`
}

func tenantOut(t store.Tenant) tenantJSONOut {
	return tenantJSONOut{ID: t.ID, DisplayName: t.DisplayName, Type: t.Type, CreatedAt: t.CreatedAt.UTC()}
}

// listPage is how many tenants list reads at once.
const listPage = 500

func tenantListCmd(stdout io.Writer) *cobra.Command {
	var sf storeFlags
	var asJSON bool
	cmd := &cobra.Command{
		Use:   "list",
		Short: "List the deployment's tenants",
		Args:  cobra.NoArgs,
		RunE: func(cmd *cobra.Command, _ []string) error {
			var all []tenantJSONOut
			err := withDirectory(cmd.Context(), sf, func(dir *directory.Service) error {
				for after := ""; ; {
					page, err := dir.ListTenants(cmd.Context(), after, listPage)
					if err != nil {
						return err
					}
					for _, t := range page {
						all = append(all, tenantOut(t))
					}
					if len(page) < listPage {
						return nil
					}
					after = page[len(page)-1].ID
				}
			})
			if err != nil {
				return err
			}
			if asJSON {
				if all == nil {
					all = []tenantJSONOut{}
				}
				return json.NewEncoder(stdout).Encode(all)
			}
			tw := tabwriter.NewWriter(stdout, 0, 4, 2, ' ', 0)
			fmt.Fprintln(tw, "ID\tTYPE\tCREATED\tNAME")
			for _, t := range all {
				fmt.Fprintf(tw, "%s\t%s\t%s\t%s\n", t.ID, t.Type, t.CreatedAt.Format(time.DateOnly), t.DisplayName)
			}
			return tw.Flush()
		},
	}
	sf.add(cmd.Flags())
	cmd.Flags().BoolVar(&asJSON, "json", false, "print one JSON array")
	return cmd
}

func tenantShowCmd(stdout io.Writer) *cobra.Command {
	var sf storeFlags
	var asJSON bool
	cmd := &cobra.Command{
		Use:   "show TENANT",
		Short: "Show a tenant (by id or verified domain) and its domains",
		Args:  cobra.ExactArgs(1),
		RunE: func(cmd *cobra.Command, args []string) error {
			var t directory.TenantDetails
			err := withDirectory(cmd.Context(), sf, func(dir *directory.Service) error {
				var err error
				t, err = dir.Tenant(cmd.Context(), args[0])
				return err
			})
			if err != nil {
				return err
			}
			out := tenantOut(t.Tenant)
			for _, d := range t.Domains {
				out.Domains = append(out.Domains, domainJSONOut{Name: d.Name, Verified: d.Verified, Default: d.Default, Initial: d.Initial})
			}
			if asJSON {
				return json.NewEncoder(stdout).Encode(out)
			}
			tw := tabwriter.NewWriter(stdout, 0, 4, 2, ' ', 0)
			fmt.Fprintf(tw, "Tenant\t%s\nName\t%s\nType\t%s\nCreated\t%s\n\nDOMAIN\tVERIFIED\tDEFAULT\tINITIAL\n", out.ID, out.DisplayName, out.Type, out.CreatedAt.Format(time.RFC3339))
			for _, d := range out.Domains {
				fmt.Fprintf(tw, "%s\t%s\t%s\t%s\n", d.Name, yesNo(d.Verified), yesNo(d.Default), yesNo(d.Initial))
			}
			return tw.Flush()
		},
	}
	sf.add(cmd.Flags())
	cmd.Flags().BoolVar(&asJSON, "json", false, "print one JSON object")
	return cmd
}

func yesNo(b bool) string {
	if b {
		return "yes"
	}
	return "no"
}

func tenantDeleteCmd(stdout io.Writer) *cobra.Command {
	var sf storeFlags
	var yes bool
	cmd := &cobra.Command{
		Use:   "delete TENANT",
		Short: "Delete a tenant (by id or verified domain) and everything it holds, for good",
		Long: "Deletes a tenant and all it holds: users, groups, applications, credentials, keys, logs.\n" +
			"There is no undo. Unless --yes is given, the tenant's default domain must be typed to confirm.\n" +
			"The consumers tenant and the deployment's last tenant cannot be deleted.",
		Args: cobra.ExactArgs(1),
		RunE: func(cmd *cobra.Command, args []string) error {
			return withDirectory(cmd.Context(), sf, func(dir *directory.Service) error {
				t, err := dir.Tenant(cmd.Context(), args[0])
				if err != nil {
					return err
				}
				if !yes {
					if err := confirmDeletion(cmd.InOrStdin(), stdout, t); err != nil {
						return err
					}
				}
				if _, err := dir.DeleteTenant(cmd.Context(), t.ID); err != nil {
					return err
				}
				_, err = fmt.Fprintf(stdout, "Deleted tenant %s (%s).\n", t.ID, t.DisplayName)
				return err
			})
		},
	}
	sf.add(cmd.Flags())
	cmd.Flags().BoolVar(&yes, "yes", false, "delete without asking for the default domain")
	return cmd
}

// confirmDeletion asks for the tenant's default domain, as a console asks
// for a name before deleting what cannot be restored.
func confirmDeletion(in io.Reader, out io.Writer, t directory.TenantDetails) error {
	want := t.ID
	for _, d := range t.Domains {
		if d.Default {
			want = d.Name
		}
	}
	if _, err := fmt.Fprintf(out, "This deletes tenant %s (%s) and everything it holds, for good.\nType its default domain, %s, to go on: ", t.ID, t.DisplayName, want); err != nil {
		return err
	}
	line, err := bufio.NewReader(in).ReadString('\n')
	if err != nil && !errors.Is(err, io.EOF) {
		return err
	}
	if !strings.EqualFold(strings.TrimSpace(line), want) {
		return errors.New("not confirmed: nothing was deleted")
	}
	return nil
}
