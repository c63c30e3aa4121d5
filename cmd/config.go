package cmd

import (
	"fmt"
	"io"
	"os"
	"strings"

	"github.com/tokengate/tokengate/config"
)

// builtinDefaults names the configuration when no file was read.
const builtinDefaults = "(built-in defaults)"

// configPath picks the config file: the --config flag, else $TOKENGATE_CONFIG, else ./config.yaml
// when it exists, else none (built-in defaults).
func configPath(flagValue string, env []string) string {
	if flagValue != "" {
		return flagValue
	}
	if v := lookupEnv(env, "TOKENGATE_CONFIG"); v != "" {
		return v
	}
	if _, err := os.Stat("config.yaml"); err == nil {
		return "config.yaml"
	}
	return ""
}

// configName is how messages name the configuration read from path.
func configName(path string) string {
	if path == "" {
		return builtinDefaults
	}
	return path
}

func lookupEnv(env []string, key string) string {
	for i := len(env) - 1; i >= 0; i-- {
		if k, v, ok := strings.Cut(env[i], "="); ok && k == key {
			return v
		}
	}
	return ""
}

// loadConfig loads and validates the configuration at path, printing every problem (one line
// each, naming the key) to stderr and returning ErrReported when there is any.
func loadConfig(path string, env []string, stderr io.Writer) (*config.Config, error) {
	cfg, err := config.LoadValid(path, env, nil, checkGatewayRules)
	if err != nil {
		for _, line := range strings.Split(err.Error(), "\n") {
			fmt.Fprintln(stderr, "tokengate: config:", line)
		}
		return nil, ErrReported
	}
	return cfg, nil
}
