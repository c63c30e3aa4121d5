package middleware

import (
	"encoding/json"
	"net/http"
	"net/http/httptest"
	"testing"
	"unicode/utf8"

	"github.com/gin-gonic/gin"
)

// TestWriteErrorIsValidJSON: whatever the message holds (invalid UTF-8, control characters,
// quotes, HTML), the error body is valid JSON with the code and message.
func TestWriteErrorIsValidJSON(t *testing.T) {
	gin.SetMode(gin.ReleaseMode)
	for _, msg := range []string{"plain", "a\x00b\nc\rd\te\x1f", "bad \xff\xfe utf-8", `quote " and \ backslash`,
		"<script>&</script>", "\u2028\u2029", "\xed\xa0\x80", ""} {
		w := httptest.NewRecorder()
		c, _ := gin.CreateTestContext(w)
		WriteError(c, http.StatusBadRequest, "invalid_request", msg)
		if !c.IsAborted() {
			t.Error("WriteError did not abort")
		}
		if w.Code != http.StatusBadRequest {
			t.Errorf("status = %d, want 400", w.Code)
		}
		if ct := w.Header().Get("Content-Type"); ct != "application/json; charset=utf-8" {
			t.Errorf("Content-Type = %q", ct)
		}
		body := w.Body.Bytes()
		var got ErrorBody
		if !json.Valid(body) || !utf8.Valid(body) {
			t.Fatalf("message %q: body is not valid JSON: %q", msg, body)
		}
		if err := json.Unmarshal(body, &got); err != nil || got.Error != "invalid_request" {
			t.Fatalf("message %q: body %q decodes to %+v, %v", msg, body, got, err)
		}
		if utf8.ValidString(msg) && got.Message != msg {
			t.Errorf("message = %q, want %q", got.Message, msg)
		}
	}
}
