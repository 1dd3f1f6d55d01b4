package cli

import (
	"context"
	"fmt"
	"net"

	"github.com/spf13/cobra"

	"github.com/medallionhq/medallion/pipeline"
	"github.com/medallionhq/medallion/web"
	"github.com/medallionhq/medallion/web/pgwire"
)

// pgFlags adds serve's Postgres endpoint flags to cmd.
func (a *app) pgFlags(cmd *cobra.Command) {
	f := cmd.Flags()
	f.StringVar(&a.pg.Addr, "pg-addr", "", "also serve the lake over the Postgres wire protocol on this address, e.g. 127.0.0.1:5433 (default serve.pg_addr; off when empty)")
	f.StringVar(&a.pg.TLSCert, "pg-tls-cert", "", "PEM certificate file: the Postgres endpoint accepts TLS (with --pg-tls-key)")
	f.StringVar(&a.pg.TLSKey, "pg-tls-key", "", "PEM private key file of --pg-tls-cert")
	f.IntVar(&a.pg.MaxConns, "pg-max-conns", pgwire.DefaultMaxConns, "most concurrent Postgres connections")
}

// startPg starts the Postgres endpoint when --pg-addr or serve.pg_addr
// asks for it, with the HTTP API's token and query limits. The returned
// channel yields Serve's error once ctx ends (nil channel: not started).
func (a *app) startPg(ctx context.Context, proj *pipeline.Project, opts web.Options, logf func(string)) (<-chan error, error) {
	po := a.pg
	if po.Addr == "" {
		po.Addr = proj.Config.Serve.PgAddr
	}
	if po.Addr == "" {
		return nil, nil
	}
	po.Token, po.QueryTimeout, po.QueryMaxRows, po.Log = opts.Token, opts.QueryTimeout, opts.QueryMaxRows, logf
	po.QueryMaxBytes, po.QueryMemoryLimit = opts.QueryMaxBytes, opts.QueryMemoryLimit
	if po.QueryMaxBytes <= 0 && proj.Config.Serve.QueryMaxBytes != "" {
		n, err := pipeline.ParseBytes(proj.Config.Serve.QueryMaxBytes)
		if err != nil {
			return nil, fmt.Errorf("serve.query_max_bytes: %w", err)
		}
		po.QueryMaxBytes = n
	}
	if po.QueryMemoryLimit == "" {
		po.QueryMemoryLimit = proj.Config.Serve.QueryMemoryLimit
	}
	srv, err := pgwire.New(proj, po)
	if err != nil {
		return nil, err
	}
	host, port, _ := net.SplitHostPort(srv.Addr())
	fmt.Fprintf(a.stdout, "serving Postgres on %s (psql -h %s -p %s)\n", srv.Addr(), host, port)
	done := make(chan error, 1)
	go func() { done <- srv.Serve(ctx) }()
	return done, nil
}
