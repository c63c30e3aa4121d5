package cmd

import (
	"fmt"
	"strings"

	"github.com/spf13/cobra"

	"github.com/tokengate/tokengate/store"
)

// usersFile finds the users file the users commands edit: --file, else store.path of the
// configuration. A configuration on the memory store gets an explanation instead of a bare error.
func usersFile(sio IO, configFile, file string) (string, error) {
	if file != "" {
		return file, nil
	}
	path := configPath(configFile, sio.Env)
	cfg, err := loadConfig(path, sio.Env, sio.Stderr)
	if err != nil {
		return "", err
	}
	if cfg.Store.Kind == "file" && cfg.Store.Path != "" {
		return cfg.Store.Path, nil
	}
	return "", fmt.Errorf(`the configuration %s keeps its users in the memory store (store.kind: %s): they are
edited in the configuration itself, under store.users (make each password_hash with
"tokengate hash-password"), and the users commands do not change it.
To manage users with these commands, keep them in a users file:
  tokengate users --file users.yaml add alice --role admin   (creates users.yaml)
then set store.kind: file and store.path: users.yaml in the configuration (see docs/users.md)`,
		configName(path), cfg.Store.Kind)
}

func newUsersCmd(sio IO, configFile *string) *cobra.Command {
	var file string
	users := &cobra.Command{
		Use:   "users",
		Short: "Add, change, remove and list the users of a users file",
		Long: `Edit a users file (YAML, or Apache htpasswd for any other extension): --file, else store.path of
the configuration (store.kind: file). A running tokengate that watches the file (store.watch) picks
the change up at once. Passwords are read on stdin, never from the command line; list never
prints hashes.`,
		Example: `  printf '%s\n' "$PASSWORD" | tokengate users --file users.yaml add alice --role admin
  tokengate users --file users.yaml list
  tokengate users list                    (the users file of ./config.yaml)`,
		Args: noArgs,
		RunE: func(c *cobra.Command, _ []string) error {
			return UsageError{"users needs a command: add, passwd, remove or list (see tokengate users --help)"}
		},
	}
	users.PersistentFlags().StringVar(&file, "file", "", "users file (default: store.path of the configuration)")
	target := func() (string, error) { return usersFile(sio, *configFile, file) }

	var roles []string
	var disabled bool
	var cost int
	add := &cobra.Command{
		Use:   "add NAME",
		Short: "Add a user (password on stdin); creates the file when it does not exist",
		Args:  exactArgs(1, "a user name"),
		RunE: func(_ *cobra.Command, args []string) error {
			path, err := target()
			if err != nil {
				return err
			}
			h, err := readHash(sio.Stdin, sio.Stderr, cost)
			if err != nil {
				return err
			}
			if err := store.AddUser(path, args[0], store.Entry{PasswordHash: h, Roles: roles, Disabled: disabled}); err != nil {
				return err
			}
			_, err = fmt.Fprintf(sio.Stdout, "added %s to %s\n", args[0], path)
			return err
		},
	}
	add.Flags().StringArrayVar(&roles, "role", nil, "role to grant (repeat for more)")
	add.Flags().BoolVar(&disabled, "disabled", false, "add the user disabled (cannot log in)")
	add.Flags().IntVar(&cost, "cost", defaultCost, costUsage)

	var passwdCost int
	passwd := &cobra.Command{
		Use:   "passwd NAME",
		Short: "Set a user's password (read on stdin)",
		Args:  exactArgs(1, "a user name"),
		RunE: func(_ *cobra.Command, args []string) error {
			path, err := target()
			if err != nil {
				return err
			}
			h, err := readHash(sio.Stdin, sio.Stderr, passwdCost)
			if err != nil {
				return err
			}
			if err := store.SetPassword(path, args[0], h); err != nil {
				return err
			}
			_, err = fmt.Fprintf(sio.Stdout, "changed the password of %s in %s\n", args[0], path)
			return err
		},
	}
	passwd.Flags().IntVar(&passwdCost, "cost", defaultCost, costUsage)

	remove := &cobra.Command{
		Use:     "remove NAME",
		Aliases: []string{"delete"},
		Short:   "Remove a user",
		Args:    exactArgs(1, "a user name"),
		RunE: func(_ *cobra.Command, args []string) error {
			path, err := target()
			if err != nil {
				return err
			}
			if err := store.RemoveUser(path, args[0]); err != nil {
				return err
			}
			_, err = fmt.Fprintf(sio.Stdout, "removed %s from %s\n", args[0], path)
			return err
		},
	}

	list := &cobra.Command{
		Use:   "list",
		Short: "List the users with their roles (never their hashes)",
		Args:  noArgs,
		RunE: func(*cobra.Command, []string) error {
			path, err := target()
			if err != nil {
				return err
			}
			all, err := store.ListUsers(path)
			if err != nil {
				return err
			}
			for _, u := range all {
				line := u.Name
				if len(u.Roles) > 0 {
					line += "\troles=" + strings.Join(u.Roles, ",")
				}
				if u.Disabled {
					line += "\tdisabled"
				}
				fmt.Fprintln(sio.Stdout, line)
			}
			return nil
		},
	}
	users.AddCommand(add, passwd, remove, list)
	return users
}
