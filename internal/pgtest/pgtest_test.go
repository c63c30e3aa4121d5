package pgtest

import (
	"context"
	"os"
	"strings"
	"testing"

	"github.com/jackc/pgx/v5"
)

func TestMain(m *testing.M) { os.Exit(Main(m)) }

func query(t *testing.T, dsn, q string) (string, error) {
	t.Helper()
	ctx := context.Background()
	conn, err := pgx.Connect(ctx, dsn)
	if err != nil {
		return "", err
	}
	defer conn.Close(ctx)
	var s string
	err = conn.QueryRow(ctx, q).Scan(&s)
	return s, err
}

func TestDSNGivesEachTestItsOwnDatabase(t *testing.T) {
	a, b := DSN(t), DSN(t)
	if a == b {
		t.Fatalf("two DSNs are the same: %s", a)
	}
	for _, dsn := range []string{a, b} {
		got, err := query(t, dsn, "SELECT current_database()")
		if err != nil {
			t.Fatalf("query on %s: %v", dsn, err)
		}
		if !strings.HasSuffix(dsn, "/"+got+"?sslmode=disable") {
			t.Errorf("current_database() = %q, want the one named in %s", got, dsn)
		}
	}
	got, err := query(t, a, "SELECT split_part(version(), ' ', 2)")
	if err != nil || !strings.HasPrefix(got, "15.") {
		t.Errorf("server version = %q (%v), want 15.x", got, err)
	}
}

func TestDatabaseCollationIsLinguistic(t *testing.T) {
	// Byte order puts "Bob" before "alice"; en-US does not. Stores must ask for byte order.
	got, err := query(t, DSN(t), "SELECT string_agg(n, ',' ORDER BY n) FROM (VALUES ('Bob'), ('alice')) v(n)")
	if err != nil {
		t.Fatal(err)
	}
	if want := "alice,Bob"; got != want {
		t.Errorf("ORDER BY = %q, want %q", got, want)
	}
}

func TestStopAndRestart(t *testing.T) {
	s := Start(t)
	dsn := s.NewDatabase(t)
	if _, err := query(t, dsn, "SELECT 'x'"); err != nil {
		t.Fatalf("query before stop: %v", err)
	}
	s.Stop()
	s.Stop() // idempotent
	if s.Running() {
		t.Fatal("Running() = true after Stop")
	}
	if _, err := query(t, dsn, "SELECT 'x'"); err == nil {
		t.Fatal("query after Stop succeeded, want a connection error")
	}
	if err := s.Restart(); err != nil {
		t.Fatalf("Restart: %v", err)
	}
	if got, err := query(t, dsn, "SELECT 'x'"); err != nil || got != "x" {
		t.Fatalf("query after Restart = %q, %v; want x, nil (the database survives)", got, err)
	}
}
