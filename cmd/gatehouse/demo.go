package main

import (
	"encoding/json"
	"fmt"
	"io"
	"net/url"
	"os"
	"regexp"
	"strings"

	"github.com/spf13/cobra"

	"github.com/gatehouse-id/gatehouse/internal/app"
)

// defaultPublicURL is serve's public URL with its default address.
const defaultPublicURL = "http://127.0.0.1:8080"

func demoCmd(stdout io.Writer) *cobra.Command {
	var sf storeFlags
	var publicURL string
	var asJSON bool
	cmd := &cobra.Command{
		Use:   "demo",
		Short: "Make a B2B walkthrough: Contoso invites Ana of Fabrikam and Sam, who has no organization here",
		Long: `demo creates the tenants Contoso (contoso.example) and Fabrikam (fabrikam.example), Fabrikam's
user Ana, a sample app in Contoso, and invitations from Contoso to Ana and to sam@example.net, whose
emails serve delivers (to the developer mailbox without --smtp-url). It works while a server runs on
the same store. Run it once per store: it refuses when the domains are taken.`,
		Args: cobra.NoArgs,
		RunE: func(cmd *cobra.Command, _ []string) error {
			if err := sf.absolute(); err != nil {
				return err
			}
			st, err := app.OpenStore(cmd.Context(), sf.store, sf.dataDir)
			if err != nil {
				return err
			}
			defer st.Close()
			d, err := app.SeedDemo(cmd.Context(), app.Config{DataDir: sf.dataDir, PublicURL: publicURL,
				MasterKey: os.Getenv("GATEHOUSE_MASTER_KEY")}, st)
			if err != nil {
				return err
			}
			serve := serveCommand(sf, d.PublicURL)
			if asJSON {
				return json.NewEncoder(stdout).Encode(demoOutput(d, serve))
			}
			return printDemo(stdout, d, serve)
		},
	}
	sf.add(cmd.Flags())
	cmd.Flags().StringVar(&publicURL, "public-url", defaultPublicURL, "the URL serve will be reached at (serve's --public-url): redeem links point there")
	cmd.Flags().BoolVar(&asJSON, "json", false, "print one JSON object for scripts")
	return cmd
}

// demoJSON is the output contract of demo --json (tests/node reads it).
type demoJSON struct {
	PublicURL string `json:"publicUrl"`
	Mailbox   string `json:"mailbox"`
	Serve     string `json:"serve"`
	Contoso   struct {
		createdTenantJSON
		App struct {
			ClientID     string `json:"clientId"`
			ClientSecret string `json:"clientSecret"`
			RedirectURI  string `json:"redirectUri"`
		} `json:"app"`
	} `json:"contoso"`
	Fabrikam struct {
		createdTenantJSON
		User struct {
			UserPrincipalName string `json:"userPrincipalName"`
			Password          string `json:"password"`
			ID                string `json:"id"`
		} `json:"user"`
	} `json:"fabrikam"`
	Invitations []demoInvitationJSON `json:"invitations"`
}

type demoInvitationJSON struct {
	Email           string `json:"email"`
	InviteRedeemURL string `json:"inviteRedeemUrl"`
	InvitedUserID   string `json:"invitedUserId"`
}

func demoOutput(d app.Demo, serve string) demoJSON {
	var out demoJSON
	out.PublicURL, out.Mailbox, out.Serve = d.PublicURL, d.PublicURL+"/_dev/mailbox", serve
	out.Contoso.createdTenantJSON = tenantJSON(d.Contoso)
	out.Contoso.App.ClientID, out.Contoso.App.ClientSecret, out.Contoso.App.RedirectURI = d.App.ClientID, d.App.ClientSecret, d.App.RedirectURI
	out.Fabrikam.createdTenantJSON = tenantJSON(d.Fabrikam)
	out.Fabrikam.User.UserPrincipalName, out.Fabrikam.User.Password, out.Fabrikam.User.ID = d.Ana.UserPrincipalName, d.Ana.Password, d.Ana.ID
	for _, inv := range d.Invitations {
		out.Invitations = append(out.Invitations, demoInvitationJSON{Email: inv.Email, InviteRedeemURL: inv.RedeemURL, InvitedUserID: inv.InvitedUserID})
	}
	return out
}

func printDemo(w io.Writer, d app.Demo, serve string) error {
	var b strings.Builder
	fmt.Fprintf(&b, "\nContoso invited two guests. These credentials are shown only now.\n\n")
	fmt.Fprintf(&b, "Contoso   tenant %s\n  Global Administrator %s  password %s\n  Automation client id %s  secret %s\n  Sample app client id %s  secret %s\n\n",
		d.Contoso.TenantID, d.Contoso.Admin.UserPrincipalName, d.Contoso.Admin.Password, d.Contoso.Auto.ClientID, d.Contoso.Auto.ClientSecret,
		d.App.ClientID, d.App.ClientSecret)
	fmt.Fprintf(&b, "Fabrikam  tenant %s\n  Global Administrator %s  password %s\n  Ana                  %s  password %s\n\n",
		d.Fabrikam.TenantID, d.Fabrikam.Admin.UserPrincipalName, d.Fabrikam.Admin.Password, d.Ana.UserPrincipalName, d.Ana.Password)
	fmt.Fprintf(&b, "1. Start the server:\n     %s\n", serve)
	for i, inv := range d.Invitations {
		how := "sign in as Ana at Fabrikam, accept, and you land on her organizations: Fabrikam and Contoso"
		if inv.Email != d.Ana.UserPrincipalName {
			how = "the one-time passcode is emailed to " + inv.Email
		}
		fmt.Fprintf(&b, "%d. Redeem the invitation of %s (%s):\n     %s\n", i+2, inv.Email, how, inv.RedeemURL)
	}
	fmt.Fprintf(&b, "Email (invitations, passcodes) is in the developer mailbox, from this machine, when serve runs\nwithout --smtp-url: %s/_dev/mailbox\n\n", d.PublicURL)
	_, err := io.WriteString(w, b.String())
	return err
}

// serveCommand is how to start a server on the store demo wrote, reached at
// publicURL.
func serveCommand(sf storeFlags, publicURL string) string {
	args := []string{"go run ./cmd/gatehouse serve"}
	switch {
	case strings.HasPrefix(sf.store, "sqlite:"):
		args = append(args, "--store", shellQuote(sf.store))
	case sf.store != "":
		// Not repeated: a database URL may hold a password.
		args = append(args, "--store", "'<the same --store>'")
	}
	if sf.dataDir != "gatehouse-data" {
		args = append(args, "--data-dir", shellQuote(sf.dataDir))
	}
	if publicURL != defaultPublicURL {
		args = append(args, "--public-url", shellQuote(publicURL))
		// serve listens where a plain-http public URL points.
		if u, err := url.Parse(publicURL); err == nil && u.Scheme == "http" && u.Port() != "" {
			args = append(args, "--addr", shellQuote(u.Host))
		}
	}
	return strings.Join(args, " ")
}

var shellSafe = regexp.MustCompile(`^[A-Za-z0-9_./:@%+=,-]+$`)

func shellQuote(s string) string {
	if shellSafe.MatchString(s) {
		return s
	}
	return "'" + strings.ReplaceAll(s, "'", `'\''`) + "'"
}
