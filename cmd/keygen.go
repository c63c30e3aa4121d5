package cmd

import (
	"errors"
	"fmt"
	"io/fs"
	"os"

	"github.com/spf13/cobra"

	"github.com/tokengate/tokengate/token"
)

func newKeygenCmd(sio IO) *cobra.Command {
	var (
		alg, out  string
		ifMissing bool
	)
	c := &cobra.Command{
		Use:   "keygen --out FILE",
		Short: "Write a new private signing key (RS256, ES256 or EdDSA)",
		Long: `Write a new PKCS#8 private key for token.private_key_file, with mode 0600: RSA 3072 bits for
RS256, P-256 for ES256, Ed25519 for EdDSA. An existing file is never overwritten: it is an error,
or with --if-missing the file is kept once it loads as a key for --alg (a one-shot container that
makes the key on first start and keeps it after).`,
		Example: `  tokengate keygen --alg ES256 --out key.pem
  tokengate keygen --if-missing --alg ES256 --out /keys/signing.pem`,
		Args: noArgs,
		RunE: func(c *cobra.Command, _ []string) error {
			if out == "" {
				return UsageError{"keygen needs --out FILE (see tokengate keygen --help)"}
			}
			pemBytes, err := token.GenerateKey(alg)
			if err != nil {
				return err
			}
			f, err := os.OpenFile(out, os.O_WRONLY|os.O_CREATE|os.O_EXCL, 0o600)
			if ifMissing && errors.Is(err, fs.ErrExist) {
				keys, err := token.LoadKeys(alg, out, nil)
				if err != nil {
					return fmt.Errorf("keygen: %s exists but is no usable %s key: %w", out, alg, err)
				}
				_, err = fmt.Fprintf(sio.Stdout, "kept the %s private key in %s (kid %s)\n", alg, out, keys.KeyID())
				return err
			}
			if err != nil {
				return err
			}
			if _, err := f.Write(pemBytes); err != nil {
				f.Close()
				return err
			}
			if err := f.Close(); err != nil {
				return err
			}
			_, err = fmt.Fprintf(sio.Stdout, "wrote a new %s private key to %s (mode 0600)\n", alg, out)
			return err
		},
	}
	c.Flags().StringVar(&alg, "alg", token.ES256, "algorithm: RS256, ES256 or EdDSA")
	c.Flags().StringVar(&out, "out", "", "file to write (required; never overwritten)")
	c.Flags().BoolVar(&ifMissing, "if-missing", false, "keep an existing --out file that holds a key for --alg instead of failing")
	return c
}
