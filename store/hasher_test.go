package store

import (
	"context"
	"errors"
	"runtime"
	"strings"
	"testing"
	"time"

	"golang.org/x/crypto/bcrypt"
)

func TestNewHasherDefaults(t *testing.T) {
	for _, n := range []int{0, -3} {
		if got, want := cap(NewHasher(n, 0).slots), max(1, runtime.GOMAXPROCS(0)/2); got != want {
			t.Errorf("NewHasher(%d) slots = %d, want max(1, GOMAXPROCS/2) = %d", n, got, want)
		}
	}
	if got := cap(NewHasher(3, 0).slots); got != 3 {
		t.Errorf("NewHasher(3) slots = %d, want 3", got)
	}
}

func TestHasherCompare(t *testing.T) {
	h := NewHasher(1, time.Second)
	hash := []byte(mustHash(t, "right"))
	ctx := context.Background()
	tests := []struct {
		name     string
		hash     []byte
		password string
		want     bool
		wantErr  error
	}{
		{"match", hash, "right", true, nil},
		{"mismatch", hash, "wrong", false, nil},
		{"73 bytes", hash, strings.Repeat("x", 73), false, ErrPasswordTooLong},
		{"malformed hash", []byte("$2y$04$short"), "right", false, errMalformedHash},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			got, err := h.Compare(ctx, tc.hash, []byte(tc.password))
			if got != tc.want || !errors.Is(err, tc.wantErr) {
				t.Errorf("Compare = %v, %v; want %v, %v", got, err, tc.want, tc.wantErr)
			}
			if err != nil && strings.Contains(err.Error(), "short") {
				t.Errorf("error %q quotes the hash", err)
			}
		})
	}
}

func TestHasherOverload(t *testing.T) {
	hash := []byte(mustHash(t, "pw"))
	busy := func(h *Hasher) {
		for range cap(h.slots) {
			h.slots <- struct{}{}
		}
	}
	t.Run("no wait", func(t *testing.T) {
		h := NewHasher(2, 0)
		busy(h)
		if _, err := h.Compare(context.Background(), hash, []byte("pw")); !errors.Is(err, ErrOverloaded) {
			t.Errorf("error = %v, want ErrOverloaded", err)
		}
	})
	t.Run("wait runs out", func(t *testing.T) {
		h := NewHasher(1, 10*time.Millisecond)
		busy(h)
		if _, err := h.Compare(context.Background(), hash, []byte("pw")); !errors.Is(err, ErrOverloaded) {
			t.Errorf("error = %v, want ErrOverloaded", err)
		}
		if got := h.InUse(); got != 1 {
			t.Errorf("InUse() = %d, want 1", got)
		}
	})
	t.Run("context ends first", func(t *testing.T) {
		h := NewHasher(1, time.Hour)
		busy(h)
		ctx, cancel := context.WithTimeout(context.Background(), 10*time.Millisecond)
		defer cancel()
		_, err := h.Compare(ctx, hash, []byte("pw"))
		if !errors.Is(err, ErrOverloaded) || !errors.Is(err, context.DeadlineExceeded) {
			t.Errorf("error = %v, want ErrOverloaded wrapping context.DeadlineExceeded", err)
		}
	})
	t.Run("context already cancelled", func(t *testing.T) {
		h := NewHasher(1, time.Hour)
		ctx, cancel := context.WithCancel(context.Background())
		cancel()
		_, err := h.Compare(ctx, hash, []byte("pw"))
		if !errors.Is(err, ErrOverloaded) || !errors.Is(err, context.Canceled) {
			t.Errorf("error = %v, want ErrOverloaded wrapping context.Canceled", err)
		}
	})
	t.Run("slot frees while waiting", func(t *testing.T) {
		h := NewHasher(1, time.Minute)
		busy(h)
		go func() { <-h.slots }()
		if ok, err := h.Compare(context.Background(), hash, []byte("pw")); !ok || err != nil {
			t.Errorf("Compare = %v, %v; want true, nil", ok, err)
		}
		if got := h.InUse(); got != 0 {
			t.Errorf("InUse() after compare = %d, want 0", got)
		}
	})
}

func TestHashPassword(t *testing.T) {
	tests := []struct {
		name     string
		password string
		cost     int
		wantErr  bool
		errIs    error
	}{
		{"min cost", "pw", bcrypt.MinCost, false, nil},
		{"72 bytes", strings.Repeat("a", 72), bcrypt.MinCost, false, nil},
		{"73 bytes", strings.Repeat("a", 73), bcrypt.MinCost, true, ErrPasswordTooLong},
		{"cost too low", "pw", bcrypt.MinCost - 1, true, nil},
		{"cost too high", "pw", MaxCost + 1, true, nil},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			h, err := HashPassword([]byte(tc.password), tc.cost)
			if (err != nil) != tc.wantErr || (tc.errIs != nil && !errors.Is(err, tc.errIs)) {
				t.Fatalf("HashPassword error = %v, want error %v (%v)", err, tc.wantErr, tc.errIs)
			}
			if err != nil {
				return
			}
			if cost, _ := bcrypt.Cost([]byte(h)); cost != tc.cost {
				t.Errorf("cost = %d, want %d", cost, tc.cost)
			}
			if bcrypt.CompareHashAndPassword([]byte(h), []byte(tc.password)) != nil {
				t.Error("hash does not verify its password")
			}
			if _, err := checkHash(h); err != nil {
				t.Errorf("stores would refuse the hash: %v", err)
			}
		})
	}
}
