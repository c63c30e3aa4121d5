package store

import (
	"bytes"
	"errors"
	"fmt"
	"io/fs"
	"os"
	"path/filepath"
	"slices"
	"strconv"
	"strings"

	"go.yaml.in/yaml/v3"
)

// errHtpasswdFields explains why an htpasswd file cannot take roles or a disabled user.
var errHtpasswdFields = fmt.Errorf("%w: an htpasswd file cannot hold roles or a disabled flag: use a YAML users file (.yaml) for those", ErrUnsupported)

// errLastUser refuses to remove the last user of a users file.
var errLastUser = fmt.Errorf("%w: refusing to remove the last user: a users file without users does not load", ErrUnsupported)

// ListUsers returns the users in the users file at path, sorted by name, without their hashes.
// The file must load as OpenFile would load it.
func ListUsers(path string) ([]User, error) {
	entries, err := loadUsers(path)
	if err != nil {
		return nil, fmt.Errorf("store: %w", err)
	}
	c, err := checkEntries(entries, path)
	if err != nil {
		return nil, fmt.Errorf("store: %w", err)
	}
	users := make([]User, 0, len(c.users))
	for _, r := range c.users {
		users = append(users, r.user.clone())
	}
	slices.SortFunc(users, func(a, b User) int { return strings.Compare(a.Name, b.Name) })
	return users, nil
}

// AddUser adds user name with entry e to the users file at path, or creates the file (mode 0600)
// with that one user if it does not exist. It returns an error wrapping ErrUserExists if name is
// taken, one wrapping ErrInvalid if ValidateName refuses name, if e.PasswordHash is not a bcrypt
// hash or a role is bad, and one wrapping ErrUnsupported if the file is an htpasswd file and e has
// roles or is disabled (htpasswd cannot say so). Roles are kept sorted, without duplicates.
//
// Like every editing function it refuses to edit a file that does not load, keeps the file's
// format (YAML comments included; YAML may be re-indented), its mode and, where permitted, its
// owner, leaves the other entries as they were, and writes atomically: a temporary file in the
// same directory, fsync, rename. A symlinked path edits the file it points to. Concurrent edits
// of one file are not coordinated: the last writer wins.
func AddUser(path, name string, e Entry) error {
	roles, err := checkNewUser(name, e)
	if err != nil {
		return fmt.Errorf("store: add user %q: %w", name, err)
	}
	e.Roles = roles
	err = editFile(path, true, func(d usersDoc, users map[string]record) error {
		if _, ok := users[name]; ok {
			return ErrUserExists
		}
		return d.add(name, e)
	})
	if err != nil {
		return fmt.Errorf("store: add user %q to %s: %w", name, path, err)
	}
	return nil
}

// SetPassword replaces the password hash of user name in the users file at path, keeping the
// user's roles and disabled flag. It returns an error wrapping ErrNotFound for an unknown user and
// one wrapping ErrInvalid if hash is not a bcrypt hash. See AddUser for how the file is written.
func SetPassword(path, name, hash string) error {
	if err := checkNewHash(hash); err != nil {
		return fmt.Errorf("store: set password of %q: %w", name, err)
	}
	return editUser(path, name, "set password of", func(d usersDoc) error { return d.setHash(name, hash) })
}

// setRoles replaces the roles of user name in the users file at path (see File.SetRoles).
func setRoles(path, name string, roles []string) error {
	roles, err := checkNewRoles(roles)
	if err != nil {
		return fmt.Errorf("store: set roles of %q: %w", name, err)
	}
	return editUser(path, name, "set roles of", func(d usersDoc) error { return d.setRoles(name, roles) })
}

// setDisabled sets the disabled flag of user name in the users file at path (see File.SetDisabled).
func setDisabled(path, name string, disabled bool) error {
	return editUser(path, name, "set disabled flag of", func(d usersDoc) error { return d.setDisabled(name, disabled) })
}

// editUser edits the entry of an existing user name with edit; what names the edit in errors.
func editUser(path, name, what string, edit func(d usersDoc) error) error {
	err := editFile(path, false, func(d usersDoc, users map[string]record) error {
		if _, ok := users[name]; !ok {
			return ErrNotFound
		}
		return edit(d)
	})
	if err != nil {
		return fmt.Errorf("store: %s %q in %s: %w", what, name, path, err)
	}
	return nil
}

// RemoveUser removes user name from the users file at path. It returns an error wrapping
// ErrNotFound for an unknown user, and an error when name is the last user: a users file without
// users does not load. See AddUser for how the file is written.
func RemoveUser(path, name string) error {
	err := editFile(path, false, func(d usersDoc, users map[string]record) error {
		if _, ok := users[name]; !ok {
			return ErrNotFound
		}
		if len(users) == 1 {
			return errLastUser
		}
		return d.remove(name)
	})
	if err != nil {
		return fmt.Errorf("store: remove user %q from %s: %w", name, path, err)
	}
	return nil
}

// usersDoc is a users file being edited, in its own format.
type usersDoc interface {
	add(name string, e Entry) error
	setHash(name, hash string) error
	setRoles(name string, roles []string) error
	setDisabled(name string, disabled bool) error
	remove(name string) error
	bytes() ([]byte, error)
}

// editFile loads the users file at path strictly (a missing file counts as empty when
// allowMissing), lets edit change it, checks that the result loads and has users, and writes it
// atomically.
func editFile(path string, allowMissing bool, edit func(d usersDoc, users map[string]record) error) error {
	target, err := filepath.EvalSymlinks(path)
	exists := err == nil
	switch {
	case errors.Is(err, fs.ErrNotExist) && allowMissing:
		target = path
	case err != nil:
		return err
	}
	var data []byte
	if exists {
		if data, err = readUsersFile(target); err != nil {
			return err
		}
	}
	// The format follows the name given, not a symlink target's (Kubernetes names targets freely).
	source := path
	entries, err := parseUsers(source, data)
	if err != nil {
		return fmt.Errorf("fix the file first: %w", err)
	}
	c, err := checkEntries(entries, source)
	if err != nil {
		return fmt.Errorf("fix the file first: %w", err)
	}
	var d usersDoc
	if formatOf(source) == formatYAML {
		d, err = newYAMLDoc(source, data)
	} else {
		d, err = newHtpasswdDoc(source, data)
	}
	if err != nil {
		return err
	}
	if err := edit(d, c.users); err != nil {
		return err
	}
	out, err := d.bytes()
	if err != nil {
		return err
	}
	// Never write what would not load.
	check, err := parseUsers(source, out)
	if err == nil && len(check) == 0 {
		err = errNoUsers(source)
	}
	if err == nil {
		_, err = checkEntries(check, source)
	}
	if err != nil {
		return fmt.Errorf("edited file would not load: %w", err)
	}
	return writeFileAtomic(target, out, exists)
}

// writeFileAtomic replaces path with data: a temporary file in the same directory, fsync, rename,
// fsync of the directory. An existing file's permission bits (and, where permitted, owner) are
// kept; a new file gets mode 0600.
func writeFileAtomic(path string, data []byte, exists bool) (err error) {
	mode := fs.FileMode(0o600)
	var fi fs.FileInfo
	if exists {
		if fi, err = os.Stat(path); err != nil {
			return err
		}
		mode = fi.Mode().Perm()
	}
	dir := filepath.Dir(path)
	tmp, err := os.CreateTemp(dir, "."+filepath.Base(path)+".tmp-*")
	if err != nil {
		return err
	}
	defer func() {
		if err != nil {
			tmp.Close()
			os.Remove(tmp.Name())
		}
	}()
	if _, err = tmp.Write(data); err != nil {
		return err
	}
	if err = tmp.Chmod(mode); err != nil {
		return err
	}
	if fi != nil {
		keepOwner(tmp, fi)
	}
	if err = tmp.Sync(); err != nil {
		return err
	}
	if err = tmp.Close(); err != nil {
		return err
	}
	if err = os.Rename(tmp.Name(), path); err != nil {
		return err
	}
	return syncDir(dir)
}

// syncDir makes a rename in dir durable.
func syncDir(dir string) error {
	d, err := os.Open(dir)
	if err != nil {
		return err
	}
	defer d.Close()
	if err := d.Sync(); err != nil && !errors.Is(err, errors.ErrUnsupported) {
		return err
	}
	return nil
}

// htpasswdDoc is an htpasswd file as lines, comments and blank lines included.
type htpasswdDoc struct {
	lines []htLine
	eol   string // the file's line ending, for new lines
}

func newHtpasswdDoc(source string, data []byte) (*htpasswdDoc, error) {
	lines, err := splitHtpasswd(source, data)
	if err != nil {
		return nil, err
	}
	d := &htpasswdDoc{lines: lines, eol: "\n"}
	if len(lines) > 0 && lines[0].eol == "\r\n" {
		d.eol = "\r\n"
	}
	return d, nil
}

func (d *htpasswdDoc) find(name string) int {
	return slices.IndexFunc(d.lines, func(l htLine) bool { return l.user && l.name == name })
}

func (d *htpasswdDoc) add(name string, e Entry) error {
	if len(e.Roles) > 0 || e.Disabled {
		return errHtpasswdFields
	}
	if strings.HasPrefix(name, "#") {
		return errors.New("an htpasswd file reads a name starting with # as a comment")
	}
	if n := len(d.lines); n > 0 && d.lines[n-1].eol == "" {
		d.lines[n-1].eol = d.eol
	}
	d.lines = append(d.lines, htLine{text: name + ":" + e.PasswordHash, eol: d.eol, name: name, hash: e.PasswordHash, user: true})
	return nil
}

func (d *htpasswdDoc) setHash(name, hash string) error {
	i := d.find(name)
	if i < 0 {
		return ErrNotFound
	}
	d.lines[i].text, d.lines[i].hash = name+":"+hash, hash
	return nil
}

func (d *htpasswdDoc) setRoles(name string, roles []string) error {
	if d.find(name) < 0 {
		return ErrNotFound
	}
	if len(roles) > 0 {
		return errHtpasswdFields
	}
	return nil
}

func (d *htpasswdDoc) setDisabled(name string, disabled bool) error {
	if d.find(name) < 0 {
		return ErrNotFound
	}
	if disabled {
		return errHtpasswdFields
	}
	return nil
}

func (d *htpasswdDoc) remove(name string) error {
	i := d.find(name)
	if i < 0 {
		return ErrNotFound
	}
	d.lines = slices.Delete(d.lines, i, i+1)
	return nil
}

func (d *htpasswdDoc) bytes() ([]byte, error) {
	var b bytes.Buffer
	for _, l := range d.lines {
		b.WriteString(l.text)
		b.WriteString(l.eol)
	}
	return b.Bytes(), nil
}

// yamlDocument is a YAML users file as a node tree, so that comments survive an edit.
type yamlDocument struct {
	doc   *yaml.Node
	users *yaml.Node // the mapping under the users key
}

func newYAMLDoc(source string, data []byte) (*yamlDocument, error) {
	doc, err := yamlDoc(source, data)
	if err != nil {
		return nil, err
	}
	users, err := usersNode(source, doc)
	if err != nil {
		return nil, err
	}
	if doc.Kind == 0 {
		doc = &yaml.Node{Kind: yaml.DocumentNode}
	}
	if len(doc.Content) == 0 || isNull(doc.Content[0]) {
		doc.Content = []*yaml.Node{{Kind: yaml.MappingNode, Tag: "!!map"}}
	}
	if users == nil {
		users = &yaml.Node{Kind: yaml.MappingNode, Tag: "!!map"}
		doc.Content[0].Content = append(doc.Content[0].Content, strNode("users"), users)
	}
	if isNull(users) {
		*users = yaml.Node{Kind: yaml.MappingNode, Tag: "!!map", HeadComment: users.HeadComment, LineComment: users.LineComment}
	}
	return &yamlDocument{doc: doc, users: users}, nil
}

func strNode(v string) *yaml.Node { return &yaml.Node{Kind: yaml.ScalarNode, Tag: "!!str", Value: v} }

func (d *yamlDocument) find(name string) int {
	for i := 0; i+1 < len(d.users.Content); i += 2 {
		if d.users.Content[i].Value == name {
			return i
		}
	}
	return -1
}

func (d *yamlDocument) add(name string, e Entry) error {
	hash := strNode(e.PasswordHash)
	hash.Style = yaml.DoubleQuotedStyle
	v := &yaml.Node{Kind: yaml.MappingNode, Tag: "!!map", Content: []*yaml.Node{strNode("password_hash"), hash}}
	if len(e.Roles) > 0 {
		v.Content = append(v.Content, strNode("roles"), rolesNode(e.Roles))
	}
	if e.Disabled {
		v.Content = append(v.Content, strNode("disabled"), boolNode(true))
	}
	d.users.Content = append(d.users.Content, strNode(name), v)
	return nil
}

func rolesNode(roles []string) *yaml.Node {
	n := &yaml.Node{Kind: yaml.SequenceNode, Tag: "!!seq", Style: yaml.FlowStyle}
	for _, r := range roles {
		n.Content = append(n.Content, strNode(r))
	}
	return n
}

func boolNode(b bool) *yaml.Node {
	return &yaml.Node{Kind: yaml.ScalarNode, Tag: "!!bool", Value: strconv.FormatBool(b)}
}

// setField sets key of user name's mapping to v (or removes the key when v is nil), keeping the
// key's comments.
func (d *yamlDocument) setField(name, key string, v *yaml.Node) error {
	i := d.find(name)
	if i < 0 {
		return ErrNotFound
	}
	m := d.users.Content[i+1]
	if m.Kind != yaml.MappingNode {
		// A user written as `bob:` with nothing under it does not load; editFile refused it.
		return errors.New("user entry is not a mapping")
	}
	for j := 0; j+1 < len(m.Content); j += 2 {
		if m.Content[j].Value != key {
			continue
		}
		if v == nil {
			m.Content = slices.Delete(m.Content, j, j+2)
			return nil
		}
		old := m.Content[j+1]
		v.HeadComment, v.LineComment, v.FootComment = old.HeadComment, old.LineComment, old.FootComment
		m.Content[j+1] = v
		return nil
	}
	if v != nil {
		m.Content = append(m.Content, strNode(key), v)
	}
	return nil
}

func (d *yamlDocument) setRoles(name string, roles []string) error {
	if len(roles) == 0 {
		return d.setField(name, "roles", nil)
	}
	return d.setField(name, "roles", rolesNode(roles))
}

func (d *yamlDocument) setDisabled(name string, disabled bool) error {
	if !disabled {
		return d.setField(name, "disabled", nil)
	}
	return d.setField(name, "disabled", boolNode(true))
}

func (d *yamlDocument) setHash(name, hash string) error {
	i := d.find(name)
	if i < 0 {
		return ErrNotFound
	}
	v := d.users.Content[i+1]
	for j := 0; j+1 < len(v.Content); j += 2 {
		if v.Content[j].Value == "password_hash" {
			n := v.Content[j+1]
			n.Value, n.Tag = hash, "!!str"
			if n.Style != yaml.SingleQuotedStyle {
				n.Style = yaml.DoubleQuotedStyle
			}
			return nil
		}
	}
	n := strNode(hash)
	n.Style = yaml.DoubleQuotedStyle
	v.Content = append([]*yaml.Node{strNode("password_hash"), n}, v.Content...)
	return nil
}

func (d *yamlDocument) remove(name string) error {
	i := d.find(name)
	if i < 0 {
		return ErrNotFound
	}
	d.users.Content = slices.Delete(d.users.Content, i, i+2)
	return nil
}

func (d *yamlDocument) bytes() ([]byte, error) {
	var b bytes.Buffer
	enc := yaml.NewEncoder(&b)
	enc.SetIndent(2)
	if err := enc.Encode(d.doc); err != nil {
		return nil, fmt.Errorf("encoding YAML: %w", err)
	}
	if err := enc.Close(); err != nil {
		return nil, fmt.Errorf("encoding YAML: %w", err)
	}
	return b.Bytes(), nil
}
