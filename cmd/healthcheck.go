package cmd

import (
	"context"
	"fmt"
	"net"
	"net/http"
	"time"

	"github.com/spf13/cobra"
)

func newHealthcheckCmd(sio IO) *cobra.Command {
	var url string
	c := &cobra.Command{
		Use:   "healthcheck",
		Short: "Exit 0 when the local tokengate's /healthz answers 200 (a container health check)",
		Long: `Probe /healthz and exit 0 when it answers 200, 1 otherwise: the HEALTHCHECK of an image without
curl. The port is taken from TOKENGATE_SERVER_ADDR (default 8080).`,
		Args: noArgs,
		RunE: func(c *cobra.Command, _ []string) error {
			return healthcheck(c.Context(), sio, url)
		},
	}
	c.Flags().StringVar(&url, "url", "", "URL to probe (default http://127.0.0.1:<port of server.addr>/healthz)")
	return c
}

// healthcheck returns nil when url (by default the local /healthz) answers 200.
func healthcheck(ctx context.Context, sio IO, url string) error {
	if url == "" {
		port := "8080"
		if addr := lookupEnv(sio.Env, "TOKENGATE_SERVER_ADDR"); addr != "" {
			if _, p, err := net.SplitHostPort(addr); err == nil && p != "" {
				port = p
			}
		}
		url = "http://127.0.0.1:" + port + "/healthz"
	}
	ctx, cancel := context.WithTimeout(ctx, 3*time.Second)
	defer cancel()
	req, err := http.NewRequestWithContext(ctx, http.MethodGet, url, nil)
	if err != nil {
		return err
	}
	resp, err := http.DefaultClient.Do(req)
	if err != nil {
		return fmt.Errorf("healthcheck: %w", err)
	}
	resp.Body.Close()
	if resp.StatusCode != http.StatusOK {
		return fmt.Errorf("healthcheck: %s answered %d", url, resp.StatusCode)
	}
	_, err = fmt.Fprintln(sio.Stdout, "ok")
	return err
}
