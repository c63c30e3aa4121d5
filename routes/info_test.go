package routes

import (
	"encoding/json"
	"math/rand/v2"
	"testing"
)

// TestUserMessageMatchesEncodingJSON: the hand-built /protected body is byte for byte what
// c.JSON(gin.H{"message": m, "user": u}) wrote before it, for plain and for awkward user names.
func TestUserMessageMatchesEncodingJSON(t *testing.T) {
	names := []string{"", "alice", "a b", `quo"te`, `back\slash`, "<script>", "a&b", "tab\there",
		"nl\n", "\x00\x1f\x7f", "ünïcødé", "日本", "\u2028\u2029", "bad\xffutf8", "emoji 🙂"}
	rng := rand.New(rand.NewPCG(1, 2))
	for range 2000 {
		b := make([]byte, rng.IntN(12))
		for i := range b {
			b[i] = byte(rng.IntN(256))
		}
		names = append(names, string(b))
	}
	for _, message := range []string{"Only available to people with valid tokens.", "Welcome, administrator.", "<&>\n"} {
		m := newUserMessage(message)
		for _, name := range names {
			want, err := json.Marshal(map[string]any{"message": message, "user": name})
			if err != nil {
				t.Fatal(err)
			}
			if got := m.appendTo([]byte("junk")[:0], name); string(got) != string(want) {
				t.Errorf("message %q, user %q: %s, want %s", message, name, got, want)
			}
		}
	}
}
