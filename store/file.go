package store

import (
	"context"
	"crypto/sha256"
	"errors"
	"fmt"
	"io/fs"
	"log/slog"
	"path/filepath"
	"sync"
	"time"

	"github.com/fsnotify/fsnotify"
)

// DefaultDebounce is how long File waits after the last change in the watched directory before
// it reloads, when FileOptions.Debounce is not set.
const DefaultDebounce = 100 * time.Millisecond

// FileOptions configures OpenFile. The zero value loads once and never reloads.
type FileOptions struct {
	// Watch turns on hot reload: the file's directory is watched and every good edit is swapped
	// in atomically, whether the file is rewritten in place, replaced by rename, or swapped in by
	// a Kubernetes `..data` symlink.
	Watch bool
	// Debounce is how long to wait after the last change before reloading (0: DefaultDebounce).
	Debounce time.Duration
	// Hasher bounds bcrypt work (nil: NewHasher(0, 1s)).
	Hasher *Hasher
	// Logger receives load warnings and reload results (nil: discard). It never receives a hash.
	Logger *slog.Logger
	// OnReload, if set, is called for metrics after the first load and after every reload that
	// read new content, failed to read, or found the file gone, and after every change through the
	// Admin methods: ok reports whether the new content is in force, users how many users are in
	// force afterwards. Reloads run on the watcher goroutine and changes on their caller's:
	// OnReload must be safe for concurrent use, return promptly and not call Close.
	OnReload func(ok bool, users int)
}

// File is a credential store over a users file: YAML for a `.yaml` or `.yml` path (the schema of
// the `store.users` config section under a `users` key), Apache htpasswd for any other (bcrypt
// lines as made by `htpasswd -B`). With FileOptions.Watch it reloads itself; a file that fails to
// load, or disappears, is logged and the last good user list stays in force. Logins never wait for
// a reload: they read an immutable snapshot that a reload replaces atomically. Its methods are safe
// for concurrent use.
type File struct {
	c    core
	path string
	opts FileOptions

	// edit serialises this store's own edits, so that concurrent admin requests never lose one
	// another's change (read, change, write).
	editMu sync.Mutex

	// load guards what loading reads and writes: OpenFile, the watch goroutine and the admin
	// methods all load.
	loadMu  sync.Mutex
	seen    bool     // sum holds the content last read
	sum     [32]byte // sha256 of the content last read, good or bad
	missing bool     // the file was missing at the last look
	watched map[string]bool

	watcher   *fsnotify.Watcher
	stop      chan struct{}
	done      chan struct{}
	closeOnce sync.Once
	closeErr  error
}

// OpenFile loads the users file at path and, with opts.Watch, starts watching it. The first load
// must succeed: a missing, unreadable or invalid file, or one without users, is an error naming
// the file and, for a parse problem, the line. Bcrypt costs under 10 load with a warning. Call
// Close to stop watching.
func OpenFile(path string, opts FileOptions) (*File, error) {
	if path == "" {
		return nil, errors.New("store: no users file path")
	}
	opts.Logger = orDiscard(opts.Logger)
	if opts.Hasher == nil {
		opts.Hasher = NewHasher(0, defaultHashWait)
	}
	if opts.Debounce <= 0 {
		opts.Debounce = DefaultDebounce
	}
	f := &File{
		c:       core{hasher: opts.Hasher, log: opts.Logger},
		path:    path,
		opts:    opts,
		watched: make(map[string]bool),
	}
	if opts.Watch {
		// Watch before the first load, so that no change between the two goes unseen.
		w, err := fsnotify.NewWatcher()
		if err != nil {
			return nil, fmt.Errorf("store: watching %s: %w", path, err)
		}
		f.watcher = w
		if err := w.Add(filepath.Dir(path)); err != nil {
			w.Close()
			return nil, fmt.Errorf("store: watching directory of %s: %w", path, err)
		}
		f.watched[filepath.Dir(path)] = true
	}
	if _, err := f.load(); err != nil {
		if f.watcher != nil {
			f.watcher.Close()
		}
		return nil, fmt.Errorf("store: loading users file: %w", err)
	}
	f.reported(true)
	f.opts.Logger.Info("users file loaded", "path", path, "users", f.c.len(), "watch", opts.Watch)
	if opts.Watch {
		f.watchTarget()
		f.stop, f.done = make(chan struct{}), make(chan struct{})
		go f.watch()
	}
	return f, nil
}

// load reads the file and, when its content differs from the content last read, parses it and
// swaps it in. changed reports whether new content was read; err is the read or load error.
func (f *File) load() (changed bool, err error) {
	f.loadMu.Lock()
	defer f.loadMu.Unlock()
	data, err := readUsersFile(f.path)
	if err != nil {
		return false, err
	}
	f.missing = false
	sum := sha256.Sum256(data)
	if f.seen && sum == f.sum {
		return false, nil
	}
	f.seen, f.sum = true, sum
	entries, err := parseUsers(f.path, data)
	if err == nil && len(entries) == 0 {
		err = errNoUsers(f.path)
	}
	if err != nil {
		return true, err
	}
	s, err := buildSnapshot(entries, f.c.snap.Load(), f.path, f.opts.Logger)
	if err != nil {
		return true, err
	}
	f.c.snap.Store(s)
	return true, nil
}

func (f *File) reported(ok bool) {
	if f.opts.OnReload != nil {
		f.opts.OnReload(ok, f.c.len())
	}
}

// reload is load on the watch goroutine: a failure is logged once per new content (or once per
// disappearance), and the last good list stays in force.
func (f *File) reload() {
	changed, err := f.load()
	f.loadMu.Lock()
	defer f.loadMu.Unlock()
	switch {
	case errors.Is(err, fs.ErrNotExist):
		if !f.missing {
			f.missing, f.seen = true, false // a restored file is reloaded even if unchanged
			f.opts.Logger.Warn("users file missing: keeping the last good user list",
				"path", f.path, "users", f.c.len())
			f.reported(false)
		}
	case err != nil:
		f.opts.Logger.Warn("users file reload failed: keeping the last good user list",
			"path", f.path, "users", f.c.len(), "err", err)
		f.reported(false)
	case changed:
		f.opts.Logger.Info("users file reloaded", "path", f.path, "users", f.c.len())
		f.reported(true)
	}
}

// watchTarget also watches the directory of the file a symlinked path points to, so that an
// in-place edit of the target is seen too. Directories no longer needed are unwatched.
func (f *File) watchTarget() {
	want := map[string]bool{filepath.Dir(f.path): true}
	if real, err := filepath.EvalSymlinks(f.path); err == nil {
		want[filepath.Dir(real)] = true
	}
	for dir := range f.watched {
		if !want[dir] {
			_ = f.watcher.Remove(dir) // fails harmlessly when dir is already gone
			delete(f.watched, dir)
		}
	}
	for dir := range want {
		if !f.watched[dir] {
			if err := f.watcher.Add(dir); err != nil {
				f.opts.Logger.Warn("cannot watch users file directory", "path", f.path, "dir", dir, "err", err)
				continue
			}
			f.watched[dir] = true
		}
	}
}

// watch reloads after changes in the watched directories until Close. Any event there counts:
// editors and Kubernetes replace the file by rename, or swap a `..data` symlink, without an event
// on the file's own name; load's content hash makes an event that changed nothing cost one read.
// Events are debounced; a directory that never quiets down still reloads every 10 debounces.
func (f *File) watch() {
	defer close(f.done)
	d := f.opts.Debounce
	timer := time.NewTimer(d)
	timer.Stop()
	defer timer.Stop()
	var pending bool
	var since time.Time
	schedule := func() {
		if !pending {
			pending, since = true, time.Now()
			timer.Reset(d)
		} else if time.Since(since) < 10*d {
			timer.Reset(d)
		}
	}
	for {
		select {
		case <-f.stop:
			return
		case _, ok := <-f.watcher.Events:
			if !ok {
				return
			}
			schedule()
		case err, ok := <-f.watcher.Errors:
			if !ok {
				return
			}
			// Typically an event queue overflow: events may be lost, so look at the file.
			f.opts.Logger.Warn("users file watch error", "path", f.path, "err", err)
			schedule()
		case <-timer.C:
			pending = false
			f.reload()
			f.watchTarget()
		}
	}
}

// Close stops watching the file and waits for the watcher goroutine to end (a reload in progress
// finishes first). The store keeps answering with the list last loaded. Close is idempotent.
func (f *File) Close() error {
	if f.watcher == nil {
		return nil
	}
	f.closeOnce.Do(func() {
		close(f.stop)
		<-f.done
		f.closeErr = f.watcher.Close()
	})
	return f.closeErr
}

// Authenticate returns the user name when password is its password, as Memory.Authenticate does:
// ErrInvalidCredentials alike for an unknown user, a wrong password and a disabled user (one
// bcrypt compare each), ErrPasswordTooLong over 72 bytes, ErrOverloaded when the Hasher had no
// slot in time. It never waits for a reload.
func (f *File) Authenticate(ctx context.Context, name, password string) (User, error) {
	return f.c.authenticate(ctx, name, password)
}

// Lookup returns the user name, disabled or not (callers check Disabled), or ErrNotFound.
func (f *File) Lookup(ctx context.Context, name string) (User, error) {
	return f.c.lookup(name)
}

// Ready returns nil when a user list is loaded, else ErrNotLoaded.
func (f *File) Ready() error { return f.c.ready() }

// Len returns the number of users in force, disabled ones included.
func (f *File) Len() int { return f.c.len() }

// Path returns the users file's path as given to OpenFile.
func (f *File) Path() string { return f.path }

// Count returns the number of users in force, disabled ones included (Len, in the form SQL needs).
func (f *File) Count(context.Context) (int, error) { return f.c.len(), f.c.ready() }

// ListUsers implements Admin.ListUsers, from the list in force.
func (f *File) ListUsers(_ context.Context, after string, limit int) ([]User, error) {
	return f.c.list(after, limit)
}

// AddUser implements Admin.AddUser: it adds the user to the file as the package's AddUser does,
// then reloads the file, so the user can log in when AddUser returns. An htpasswd file cannot take
// roles or a disabled user (ErrUnsupported).
func (f *File) AddUser(_ context.Context, name string, e Entry) error {
	return f.change(func() error { return AddUser(f.path, name, e) })
}

// SetPassword implements Admin.SetPassword (see AddUser for how the file is changed).
func (f *File) SetPassword(_ context.Context, name, hash string) error {
	return f.change(func() error { return SetPassword(f.path, name, hash) })
}

// SetRoles implements Admin.SetRoles (see AddUser for how the file is changed). An htpasswd file
// takes no roles (ErrUnsupported), except none.
func (f *File) SetRoles(_ context.Context, name string, roles []string) error {
	return f.change(func() error { return setRoles(f.path, name, roles) })
}

// SetDisabled implements Admin.SetDisabled (see AddUser for how the file is changed). An htpasswd
// file cannot hold a disabled user (ErrUnsupported).
func (f *File) SetDisabled(_ context.Context, name string, disabled bool) error {
	return f.change(func() error { return setDisabled(f.path, name, disabled) })
}

// DeleteUser implements Admin.DeleteUser (see AddUser for how the file is changed). The last user
// of a file cannot be removed (ErrUnsupported): a users file without users does not load.
func (f *File) DeleteUser(_ context.Context, name string) error {
	return f.change(func() error { return RemoveUser(f.path, name) })
}

// change runs one edit of the file, one at a time, and loads the result before returning. Edits by
// other processes (another tokengate, the CLI) are not coordinated with it: the last writer wins.
func (f *File) change(edit func() error) error {
	f.editMu.Lock()
	defer f.editMu.Unlock()
	if err := edit(); err != nil {
		return err
	}
	changed, err := f.load()
	if err != nil {
		// The edit checked that the file loads; it was changed again since, by someone else. The
		// watcher (if any) keeps the last good list in force and logs it.
		return fmt.Errorf("store: reloading %s after the change: %w", f.path, err)
	}
	if changed {
		f.opts.Logger.Info("users file changed", "path", f.path, "users", f.c.len())
		f.reported(true)
	}
	return nil
}

var _ Admin = (*File)(nil)

// inner exposes the shared core to the package's tests.
func (f *File) inner() *core { return &f.c }
