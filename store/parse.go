package store

import (
	"bytes"
	"errors"
	"fmt"
	"io"
	"os"
	"path/filepath"
	"strconv"
	"strings"

	"go.yaml.in/yaml/v3"
)

// Parser limits: a users file is small; anything this large is a mistake or an attack.
const (
	maxFileBytes = 64 << 20 // whole file
	maxLineBytes = 4 << 10  // one htpasswd line
)

// format is a users-file format, chosen by extension.
type format int

const (
	formatHtpasswd format = iota
	formatYAML
)

// formatOf returns YAML for a .yaml or .yml path and htpasswd for any other.
func formatOf(path string) format {
	switch strings.ToLower(filepath.Ext(path)) {
	case ".yaml", ".yml":
		return formatYAML
	}
	return formatHtpasswd
}

var utf8BOM = []byte("\xef\xbb\xbf")

// readUsersFile reads path whole, refusing a file over maxFileBytes. A missing file is an error
// matching fs.ErrNotExist.
func readUsersFile(path string) ([]byte, error) {
	f, err := os.Open(path)
	if err != nil {
		return nil, err
	}
	defer f.Close()
	tooLarge := func() error { return fmt.Errorf("%s: larger than %d MiB", path, maxFileBytes>>20) }
	var b bytes.Buffer
	if fi, err := f.Stat(); err == nil && fi.Mode().IsRegular() {
		if fi.Size() > maxFileBytes {
			return nil, tooLarge()
		}
		b.Grow(int(fi.Size()) + bytes.MinRead)
	}
	// The limit holds for files that grow while read and for non-regular files too.
	_, err = b.ReadFrom(io.LimitReader(f, maxFileBytes+1))
	data := b.Bytes()
	if err != nil {
		return nil, err
	}
	if len(data) > maxFileBytes {
		return nil, tooLarge()
	}
	return data, nil
}

// parseUsers parses data, the content of the users file at path, in the format its extension
// names. It checks syntax only; checkEntries checks names, hashes and roles. Errors name the file
// and line.
func parseUsers(path string, data []byte) ([]sourced, error) {
	if formatOf(path) == formatYAML {
		return parseYAML(path, data)
	}
	return parseHtpasswd(path, data)
}

// errNoUsers explains why a file without users does not load.
func errNoUsers(path string) error {
	return fmt.Errorf("%s: no users (an empty users file is refused, so that a truncated write cannot wipe the user list)", path)
}

// loadUsers reads, parses and checks the users file at path: what a load does, short of making a
// snapshot. A file with no users is an error.
func loadUsers(path string) ([]sourced, error) {
	data, err := readUsersFile(path)
	if err != nil {
		return nil, err
	}
	entries, err := parseUsers(path, data)
	if err != nil {
		return nil, err
	}
	if len(entries) == 0 {
		return nil, errNoUsers(path)
	}
	return entries, nil
}

// htLine is one line of an htpasswd file: its text (without the line ending) and, for a user
// line, the name and hash. Comment and blank lines have no name.
type htLine struct {
	text, eol  string
	name, hash string
	user       bool
}

// splitHtpasswd splits data into lines, reporting malformed ones (and over-long ones) by number.
func splitHtpasswd(source string, data []byte) ([]htLine, error) {
	p := &problems{source: source}
	data = bytes.TrimPrefix(data, utf8BOM)
	lines := make([]htLine, 0, bytes.Count(data, []byte{'\n'})+1)
	for n := 1; len(data) > 0; n++ {
		l := htLine{}
		raw := data
		if i := bytes.IndexByte(data, '\n'); i >= 0 {
			raw, data = data[:i], data[i+1:]
			l.eol = "\n"
		} else {
			data = nil
		}
		if len(raw) > 0 && raw[len(raw)-1] == '\r' {
			raw = raw[:len(raw)-1]
			l.eol = "\r" + l.eol
		}
		l.text = string(raw)
		lines = append(lines, l)
		if len(raw) > maxLineBytes {
			p.add(n, "line longer than %d bytes", maxLineBytes)
			continue
		}
		t := strings.TrimSpace(l.text)
		if t == "" || t[0] == '#' {
			continue
		}
		name, hash, ok := strings.Cut(t, ":")
		if !ok {
			// Never quote the line: it may be a password typed in the wrong place.
			p.add(n, "expected name:hash")
			continue
		}
		lines[len(lines)-1].name, lines[len(lines)-1].hash, lines[len(lines)-1].user = name, hash, true
	}
	return lines, p.err()
}

// parseHtpasswd parses an Apache htpasswd file: `name:hash` lines, with `#` comment lines and
// blank lines ignored.
func parseHtpasswd(source string, data []byte) ([]sourced, error) {
	lines, err := splitHtpasswd(source, data)
	if err != nil {
		return nil, err
	}
	out := make([]sourced, 0, len(lines))
	for i, l := range lines {
		if l.user {
			out = append(out, sourced{name: l.name, entry: Entry{PasswordHash: l.hash}, line: i + 1})
		}
	}
	return out, nil
}

// yamlDoc decodes data as exactly one YAML document into a node tree. An empty file is a zero
// node. Syntax errors name the file and line.
func yamlDoc(source string, data []byte) (*yaml.Node, error) {
	var doc yaml.Node
	dec := yaml.NewDecoder(bytes.NewReader(data))
	if err := dec.Decode(&doc); err != nil {
		if errors.Is(err, io.EOF) {
			return &yaml.Node{}, nil
		}
		return nil, yamlError(source, err)
	}
	var extra yaml.Node
	if err := dec.Decode(&extra); !errors.Is(err, io.EOF) {
		if err != nil {
			return nil, yamlError(source, err)
		}
		return nil, fmt.Errorf("%s:%d: more than one YAML document", source, extra.Line)
	}
	return &doc, nil
}

// yamlError rewrites "yaml: line N: msg" as "source:N: msg".
func yamlError(source string, err error) error {
	msg := strings.TrimPrefix(err.Error(), "yaml: ")
	if rest, ok := strings.CutPrefix(msg, "line "); ok {
		if num, tail, ok := strings.Cut(rest, ": "); ok {
			if _, err := strconv.Atoi(num); err == nil {
				return fmt.Errorf("%s:%s: %s", source, num, tail)
			}
		}
	}
	return fmt.Errorf("%s: %s", source, msg)
}

// usersNode returns the value node of the top-level `users` key of doc (nil when the document is
// empty or has no users), reporting any other top-level key as an error.
func usersNode(source string, doc *yaml.Node) (*yaml.Node, error) {
	root := doc
	if root.Kind == yaml.DocumentNode && len(root.Content) > 0 {
		root = root.Content[0]
	}
	if root.Kind == 0 || isNull(root) {
		return nil, nil
	}
	p := &problems{source: source}
	if root.Kind != yaml.MappingNode {
		p.add(root.Line, "expected a mapping with a users key")
		return nil, p.err()
	}
	var users *yaml.Node
	for i := 0; i+1 < len(root.Content); i += 2 {
		k, v := root.Content[i], root.Content[i+1]
		switch {
		case k.Kind != yaml.ScalarNode || k.Value != "users":
			p.add(k.Line, "unknown key %q (a users file has only a users key)", k.Value)
		case users != nil:
			p.add(k.Line, "duplicate key users")
		default:
			users = v
		}
	}
	return users, p.err()
}

// parseYAML parses a YAML users file: `users: {name: {password_hash, roles, disabled}}`. Unknown
// keys, aliases and values of the wrong type are errors naming the line.
func parseYAML(source string, data []byte) ([]sourced, error) {
	doc, err := yamlDoc(source, data)
	if err != nil {
		return nil, err
	}
	users, err := usersNode(source, doc)
	if err != nil || users == nil || isNull(users) {
		return nil, err
	}
	p := &problems{source: source}
	if users.Kind != yaml.MappingNode {
		p.add(users.Line, "users: expected a mapping of user name to {password_hash, roles, disabled}")
		return nil, p.err()
	}
	out := make([]sourced, 0, len(users.Content)/2)
	for i := 0; i+1 < len(users.Content); i += 2 {
		k, v := users.Content[i], users.Content[i+1]
		if k.Kind != yaml.ScalarNode || isNull(k) {
			p.add(k.Line, "expected a user name")
			continue
		}
		e, ok := yamlEntry(p, k.Value, v)
		if ok {
			out = append(out, sourced{name: k.Value, entry: e, line: k.Line})
		}
	}
	return out, p.err()
}

// yamlEntry decodes one user's value node, adding any problem to p.
func yamlEntry(p *problems, name string, v *yaml.Node) (Entry, bool) {
	var e Entry
	if v.Kind != yaml.MappingNode {
		p.add(v.Line, "user %q: expected a mapping with password_hash, roles, disabled", name)
		return e, false
	}
	ok := true
	fail := func(n *yaml.Node, format string, args ...any) {
		p.add(n.Line, "user %q: "+format, append([]any{name}, args...)...)
		ok = false
	}
	seen := make(map[string]bool, 3)
	for i := 0; i+1 < len(v.Content); i += 2 {
		k, val := v.Content[i], v.Content[i+1]
		if seen[k.Value] {
			fail(k, "duplicate key %s", k.Value)
			continue
		}
		seen[k.Value] = true
		switch {
		case k.Kind != yaml.ScalarNode:
			fail(k, "expected a key")
		case k.Value == "password_hash":
			if val.Kind != yaml.ScalarNode || val.ShortTag() != "!!str" {
				fail(val, "password_hash must be a string")
				continue
			}
			e.PasswordHash = val.Value
		case k.Value == "roles":
			if isNull(val) {
				continue
			}
			if val.Kind != yaml.SequenceNode {
				fail(val, "roles must be a list of strings")
				continue
			}
			for _, r := range val.Content {
				if r.Kind != yaml.ScalarNode || isNull(r) {
					fail(r, "roles must be a list of strings")
					break
				}
				e.Roles = append(e.Roles, r.Value)
			}
		case k.Value == "disabled":
			if val.Kind != yaml.ScalarNode || val.ShortTag() != "!!bool" {
				fail(val, "disabled must be true or false")
				continue
			}
			e.Disabled = strings.EqualFold(val.Value, "true")
		default:
			fail(k, "unknown key %q (allowed: password_hash, roles, disabled)", k.Value)
		}
	}
	return e, ok
}

func isNull(n *yaml.Node) bool {
	return n.Kind == yaml.ScalarNode && n.ShortTag() == "!!null"
}
