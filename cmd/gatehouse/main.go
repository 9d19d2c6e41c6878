// Command gatehouse runs and administers a Gatehouse identity deployment.
package main

import (
	"context"
	"crypto/tls"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"log/slog"
	"net"
	"net/http"
	"net/url"
	"os"
	"os/signal"
	"path/filepath"
	"slices"
	"strings"
	"sync"
	"syscall"
	"time"

	"github.com/spf13/cobra"
	"github.com/spf13/pflag"

	"github.com/gatehouse-id/gatehouse/internal/app"
	"github.com/gatehouse-id/gatehouse/internal/devcert"
	"github.com/gatehouse-id/gatehouse/internal/directory"
	"github.com/gatehouse-id/gatehouse/internal/logging"
)

func main() {
	ctx, stop := signal.NotifyContext(context.Background(), os.Interrupt, syscall.SIGTERM)
	defer stop()
	if err := newRoot(os.Stdout, os.Stderr).ExecuteContext(ctx); err != nil {
		fmt.Fprintln(os.Stderr, "gatehouse:", err)
		os.Exit(1)
	}
}

// storeFlags are shared by every command that opens the store.
type storeFlags struct {
	store, dataDir string
}

func (f *storeFlags) add(fs *pflag.FlagSet) {
	fs.StringVar(&f.store, "store", "", "store URL: sqlite:PATH or postgres://… (default: SQLite in --data-dir)")
	fs.StringVar(&f.dataDir, "data-dir", "gatehouse-data", "directory for the embedded database and the master key")
}

// absolute makes the data directory and a SQLite file absolute, so what
// the CLI prints or records (paths of the CA, the database, a serve
// command) still holds from another working directory.
func (f *storeFlags) absolute() error {
	dir, err := filepath.Abs(f.dataDir)
	if err != nil {
		return err
	}
	f.dataDir = dir
	if rest, ok := strings.CutPrefix(f.store, "sqlite:"); ok {
		if path := strings.TrimPrefix(rest, "//"); path != "" && !filepath.IsAbs(path) {
			abs, err := filepath.Abs(path)
			if err != nil {
				return err
			}
			f.store = "sqlite:" + abs
		}
	}
	return nil
}

func newRoot(stdout, stderr io.Writer) *cobra.Command {
	root := &cobra.Command{
		Use:           "gatehouse",
		Short:         "Gatehouse: an identity platform with Entra-compatible tenants, B2B and customer identity",
		SilenceUsage:  true,
		SilenceErrors: true,
		PersistentPreRunE: func(cmd *cobra.Command, _ []string) error {
			return applySettings(cmd)
		},
	}
	root.PersistentFlags().String("config", "", "a YAML file of settings (flag names as keys); flags and GATEHOUSE_* variables win over it")
	root.SetOut(stdout)
	root.SetErr(stderr)
	root.AddCommand(serveCmd(stdout, stderr), migrateCmd(stdout), tenantCmd(stdout), demoCmd(stdout), versionCmd(stdout),
		loginCmd(stdout), logoutCmd(stdout), apiCmd(stdout), whoamiCmd(stdout), xtapCmd(stdout))
	return root
}

// tlsFlags choose how serve terminates TLS.
type tlsFlags struct {
	cert, key string
	dev       bool
}

// stopFlags choose how serve stops, and the listeners it runs beside the
// node's own (whose lifetimes serve ties to its own).
type stopFlags struct {
	// drain is how long /readyz reports draining, with the listener still
	// open, before the server stops accepting; timeout bounds the wait for
	// in-flight requests after that.
	drain, timeout time.Duration
	// pprof, when set, is the loopback address of Go's profiler.
	pprof string
	// metrics, when set, is the address of a listener serving /metrics
	// alone (and the node's own listener serves none).
	metrics string
}

// logFlags choose how serve logs.
type logFlags struct {
	format, level string
}

func serveCmd(stdout, stderr io.Writer) *cobra.Command {
	var sf storeFlags
	var tf tlsFlags
	var stop stopFlags
	var lf logFlags
	var metricsPublic bool
	var cfg app.Config
	cmd := &cobra.Command{
		Use:   "serve",
		Short: "Run a Gatehouse node",
		Args:  cobra.NoArgs,
		RunE: func(cmd *cobra.Command, _ []string) error {
			if err := checkListen(cfg.Addr, cfg.PublicURL); err != nil {
				return err
			}
			if err := sf.absolute(); err != nil {
				return err
			}
			cfg.Store, cfg.DataDir = sf.store, sf.dataDir
			cfg.MasterKey = os.Getenv("GATEHOUSE_MASTER_KEY")
			var err error
			if cfg.Metrics, err = metricsExposure(stop.metrics, metricsPublic); err != nil {
				return err
			}
			if cfg.Logger, err = logging.New(stderr, logging.Options{Format: lf.format, Level: lf.level}); err != nil {
				return err
			}
			// The OpenID library logs through the default logger: one stream.
			defer slog.SetDefault(slog.Default())
			slog.SetDefault(cfg.Logger)
			return serve(cmd.Context(), cfg, tf, stop, stdout)
		},
	}
	sf.add(cmd.Flags())
	cmd.Flags().StringVar(&tf.cert, "tls-cert", "", "serve HTTPS with this certificate (PEM), with --tls-key")
	cmd.Flags().StringVar(&tf.key, "tls-key", "", "the private key (PEM) of --tls-cert")
	cmd.Flags().BoolVar(&tf.dev, "dev-tls", false, "serve HTTPS with a development certificate from a local CA kept in --data-dir")
	cmd.Flags().StringVar(&cfg.Addr, "addr", "127.0.0.1:8080", "listen address")
	cmd.Flags().StringVar(&cfg.PublicURL, "public-url", "", "the URL clients use to reach this deployment (default http://ADDR)")
	cmd.Flags().StringVar(&cfg.PasswordBlocklist, "password-blocklist", "", "a file of breached passwords (one per line) to refuse besides the built-in list")
	cmd.Flags().DurationVar(&stop.drain, "drain-period", 5*time.Second, "on SIGTERM, how long /readyz reports draining while new requests are still served, so load balancers move away first")
	cmd.Flags().DurationVar(&stop.timeout, "shutdown-timeout", 20*time.Second, "after draining, how long in-flight requests may take to finish")
	cmd.Flags().StringVar(&stop.pprof, "pprof-addr", "", "serve Go's profiler (/debug/pprof/) on this loopback address, e.g. 127.0.0.1:6060 (off by default)")
	cmd.Flags().StringVar(&stop.metrics, "metrics-addr", "", "serve /metrics on a listener of its own at this address, e.g. 127.0.0.1:9090 or :9090 on a monitoring network, and not on --addr (default: on --addr, to this machine only)")
	cmd.Flags().BoolVar(&metricsPublic, "metrics-public", false, "serve /metrics on --addr to anyone who reaches it, not only to this machine")
	cmd.Flags().StringVar(&lf.format, "log-format", "text", "text or json")
	cmd.Flags().StringVar(&lf.level, "log-level", "info", "debug, info, warn or error (debug adds probes, scrapes, device-code polls and the OpenID library's own lines)")
	cmd.Flags().DurationVar(&cfg.StoreTimeout, "store-timeout", 5*time.Second, "the longest a store transaction may take; past it (a hung database) requests answer 503")
	cmd.Flags().IntVar(&cfg.PostgresMaxConns, "pg-max-conns", 16, "PostgreSQL connections this node may open")
	cmd.Flags().DurationVar(&cfg.PostgresConnLifetime, "pg-conn-lifetime", 0, "replace PostgreSQL connections older than this, e.g. 30m (0: keep them until they fail)")
	cmd.Flags().DurationVar(&cfg.AuditRetention, "audit-retention", app.DefaultAuditRetention, "how long directory audit and sign-in records are kept")
	cmd.Flags().StringVar(&cfg.SMTPURL, "smtp-url", "", "deliver email here: smtp://user:pass@host:587?starttls=required, smtps://user:pass@host:465, smtp://127.0.0.1:25?starttls=none (loopback only); &from=… sets the sender (default: the developer mailbox at /_dev/mailbox, from this machine only)")
	cmd.Flags().StringVar(&cfg.MailFrom, "mail-from", "", `the sender of email, e.g. "Contoso <no-reply@contoso.com>" (default: the from parameter of --smtp-url)`)
	return cmd
}

func serve(ctx context.Context, cfg app.Config, tf tlsFlags, stop stopFlags, stdout io.Writer) error {
	certFile, keyFile, err := tlsFiles(cfg, tf, stdout)
	if err != nil {
		return err
	}
	if certFile != "" && cfg.PublicURL == "" {
		cfg.PublicURL = "https://" + cfg.Addr
	}
	srv, err := app.New(ctx, cfg)
	if err != nil {
		return err
	}
	defer srv.Close()
	if err := srv.Bootstrap(ctx, stdout); err != nil {
		return fmt.Errorf("creating the first tenant: %w", err)
	}
	if stop.pprof != "" {
		closePprof, bound, err := startPprof(stop.pprof)
		if err != nil {
			return err
		}
		defer closePprof()
		cfg.Logger.Info("profiler listening", "addr", bound)
	}
	if stop.metrics != "" {
		mux := http.NewServeMux()
		mux.Handle("GET /metrics", srv.MetricsHandler())
		closeMetrics, bound, err := startSide(stop.metrics, mux)
		if err != nil {
			return fmt.Errorf("--metrics-addr: %w", err)
		}
		defer closeMetrics()
		cfg.Logger.Info("metrics listening", "addr", bound)
	}
	ln, err := net.Listen("tcp", cfg.Addr)
	if err != nil {
		return err
	}
	hs := &http.Server{
		Handler:           srv.Handler(),
		ReadHeaderTimeout: 10 * time.Second,
		ReadTimeout:       30 * time.Second,
		WriteTimeout:      60 * time.Second,
		IdleTimeout:       120 * time.Second,
		MaxHeaderBytes:    64 << 10,
	}
	// Housekeeping outlives the signal until the requests are done, and the
	// store closes only after it has stopped.
	housekeeping, stopHousekeeping := context.WithCancel(context.WithoutCancel(ctx))
	var background sync.WaitGroup
	background.Go(func() { srv.RunHousekeeping(housekeeping, 5*time.Minute) })
	background.Go(func() { keepHeapFloor(housekeeping, time.Second) })
	defer background.Wait()
	defer stopHousekeeping()
	cfg.Logger.Info("gatehouse listening", "addr", ln.Addr().String(), "version", readBuild().Version)
	errc := make(chan error, 1)
	go func() {
		if certFile != "" {
			hs.TLSConfig = &tls.Config{MinVersion: tls.VersionTLS12}
			errc <- hs.ServeTLS(ln, certFile, keyFile)
			return
		}
		errc <- hs.Serve(ln)
	}()
	select {
	case err := <-errc:
		return err
	case <-ctx.Done():
	}
	// Load balancers see /readyz fail and move new work away while this
	// node still serves whatever reaches it (closing each connection after
	// its response, so keep-alive clients move too).
	srv.Drain()
	cfg.Logger.Info("draining", "period", stop.drain)
	time.Sleep(stop.drain)
	shutdown, cancel := context.WithTimeout(context.Background(), stop.timeout)
	defer cancel()
	if err := hs.Shutdown(shutdown); err != nil {
		return errors.Join(fmt.Errorf("requests still running after --shutdown-timeout %v were cut off: %w", stop.timeout, err), hs.Close())
	}
	if err := <-errc; !errors.Is(err, http.ErrServerClosed) {
		return err
	}
	return nil
}

// tlsFiles returns the certificate and key serve should use, if any, making
// the development ones on request and saying where their CA is.
func tlsFiles(cfg app.Config, tf tlsFlags, stdout io.Writer) (string, string, error) {
	switch {
	case tf.dev && (tf.cert != "" || tf.key != ""):
		return "", "", errors.New("--dev-tls and --tls-cert/--tls-key are alternatives")
	case (tf.cert == "") != (tf.key == ""):
		return "", "", errors.New("--tls-cert and --tls-key go together")
	case tf.cert != "":
		return tf.cert, tf.key, nil
	case !tf.dev:
		return "", "", nil
	}
	hosts := []string{"localhost", "127.0.0.1", "::1"}
	if h, _, err := net.SplitHostPort(cfg.Addr); err == nil && h != "" && !slices.Contains(hosts, h) {
		hosts = append(hosts, h)
	}
	if u, err := url.Parse(cfg.PublicURL); err == nil && u.Hostname() != "" && !slices.Contains(hosts, u.Hostname()) {
		hosts = append(hosts, u.Hostname())
	}
	f, err := devcert.Ensure(cfg.DataDir, hosts, time.Now())
	if err != nil {
		return "", "", err
	}
	_, err = fmt.Fprintf(stdout, "Serving HTTPS with a development certificate. Trust its CA in clients: %s\n  (Node.js: NODE_EXTRA_CA_CERTS=%s)\n", f.CA, f.CA)
	return f.Cert, f.Key, err
}

func migrateCmd(stdout io.Writer) *cobra.Command {
	var sf storeFlags
	cmd := &cobra.Command{
		Use:   "migrate",
		Short: "Bring the store's schema up to date and exit",
		RunE: func(cmd *cobra.Command, _ []string) error {
			if err := sf.absolute(); err != nil {
				return err
			}
			st, err := app.OpenStore(cmd.Context(), sf.store, sf.dataDir)
			if err != nil {
				return err
			}
			defer st.Close()
			_, err = fmt.Fprintln(stdout, "store is up to date")
			return err
		},
	}
	sf.add(cmd.Flags())
	return cmd
}

func tenantCmd(stdout io.Writer) *cobra.Command {
	tenant := &cobra.Command{Use: "tenant", Short: "Manage tenants"}
	var sf storeFlags
	var in directory.NewTenant
	var asJSON bool
	create := &cobra.Command{
		Use:   "create",
		Short: "Create a tenant with a Global Administrator and an automation app",
		Args:  cobra.NoArgs,
		RunE: func(cmd *cobra.Command, _ []string) error {
			var t directory.CreatedTenant
			err := withDirectory(cmd.Context(), sf, func(dir *directory.Service) error {
				var err error
				t, err = dir.CreateTenant(cmd.Context(), in)
				return err
			})
			if err != nil {
				return err
			}
			return printTenant(stdout, t, asJSON)
		},
	}
	sf.add(create.Flags())
	create.Flags().StringVar(&in.DisplayName, "display-name", "", "the organization's name (required)")
	create.Flags().StringVar(&in.Domain, "domain", "", "a domain the tenant owns; its default domain (required)")
	create.Flags().StringVar(&in.Type, "type", "workforce", "workforce or external")
	create.Flags().BoolVar(&asJSON, "json", false, "print one JSON object for scripts")
	_ = create.MarkFlagRequired("display-name")
	_ = create.MarkFlagRequired("domain")
	tenant.AddCommand(create, tenantListCmd(stdout), tenantShowCmd(stdout), tenantDeleteCmd(stdout))
	return tenant
}

// createdTenantJSON is the output contract scripts rely on.
type createdTenantJSON struct {
	TenantID string `json:"tenantId"`
	Admin    struct {
		UserPrincipalName string `json:"userPrincipalName"`
		Password          string `json:"password"`
	} `json:"admin"`
	Automation struct {
		ClientID     string `json:"clientId"`
		ClientSecret string `json:"clientSecret"`
	} `json:"automation"`
}

func tenantJSON(t directory.CreatedTenant) createdTenantJSON {
	var out createdTenantJSON
	out.TenantID = t.TenantID
	out.Admin.UserPrincipalName, out.Admin.Password = t.Admin.UserPrincipalName, t.Admin.Password
	out.Automation.ClientID, out.Automation.ClientSecret = t.Auto.ClientID, t.Auto.ClientSecret
	return out
}

func printTenant(w io.Writer, t directory.CreatedTenant, asJSON bool) error {
	if asJSON {
		return json.NewEncoder(w).Encode(tenantJSON(t))
	}
	_, err := fmt.Fprintf(w, "Tenant %s created.\n  Global Administrator %s\n  Password             %s\n  Automation client id %s\n  Client secret        %s\nThese secrets are shown only now.\n",
		t.TenantID, t.Admin.UserPrincipalName, t.Admin.Password, t.Auto.ClientID, t.Auto.ClientSecret)
	return err
}
