package cmd

import (
	"crypto/rand"
	"crypto/sha256"
	"encoding/base64"
	"encoding/hex"
	"fmt"
	"net/url"

	"github.com/spf13/cobra"
)

// clientSecretBytes is the randomness of a client secret: 256 bits.
const clientSecretBytes = 32

func newClientSecretCmd(sio IO) *cobra.Command {
	var id string
	c := &cobra.Command{
		Use:   "client-secret [--id ID]",
		Short: "Print a new introspection client secret and the hash to configure",
		Long: `Print a new random client secret (32 bytes, base64url) for a caller of POST /introspect, and the
SHA-256 of it to put under clients in the configuration. tokengate keeps only the hash; give the
secret to the client, which sends it with HTTP Basic. The secret is not shown again.`,
		Example: `  tokengate client-secret --id billing`,
		Args:    noArgs,
		RunE: func(*cobra.Command, []string) error {
			if id == "" || url.QueryEscape(id) != id {
				return UsageError{fmt.Sprintf("client-secret: --id %q must be letters, digits, '-', '.', '_' or '~' (see tokengate client-secret --help)", id)}
			}
			b := make([]byte, clientSecretBytes)
			if _, err := rand.Read(b); err != nil {
				return err
			}
			secret := base64.RawURLEncoding.EncodeToString(b)
			sum := sha256.Sum256([]byte(secret))
			hash := hex.EncodeToString(sum[:])
			_, err := fmt.Fprintf(sio.Stdout, `client id:     %s
secret:        %s
secret_sha256: %s

Give the secret to the client (HTTP Basic to POST /introspect); configure only its hash:

clients:
  %s:
    secret_sha256: "%s"
`, id, secret, hash, id, hash)
			return err
		},
	}
	c.Flags().StringVar(&id, "id", "downstream", "client id")
	return c
}
