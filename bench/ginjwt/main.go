// Command ginjwt is the peer that bench/run.sh compares tokengate with: a tiny Gin server whose
// /protected is guarded by appleboy/gin-jwt v2 (HS256, header token), beside an open /unprotected.
// It lives in its own module so that tokengate's go.mod does not depend on gin-jwt.
//
//	ginjwt -secret S [-ttl D] [-logger]   prints "listening ADDR" on stdout, then serves until killed
package main

import (
	"errors"
	"flag"
	"fmt"
	"io"
	"net"
	"net/http"
	"os"
	"time"

	jwt "github.com/appleboy/gin-jwt/v2"
	"github.com/gin-gonic/gin"
)

func main() {
	addr := flag.String("addr", "127.0.0.1:0", "listen address (loopback)")
	secret := flag.String("secret", "", "HS256 secret (required)")
	logger := flag.Bool("logger", false, "use gin.Logger() (one access line per request, to -log)")
	logPath := flag.String("log", "/dev/null", "access log file when -logger is set")
	ttl := flag.Duration("ttl", time.Hour, "lifetime of the tokens /login hands out")
	flag.Parse()
	if err := run(*addr, *secret, *ttl, *logger, *logPath); err != nil {
		fmt.Fprintln(os.Stderr, "ginjwt:", err)
		os.Exit(1)
	}
}

func run(addr, secret string, ttl time.Duration, logger bool, logPath string) error {
	if len(secret) < 32 {
		return errors.New("-secret of at least 32 bytes is required")
	}
	gin.SetMode(gin.ReleaseMode)
	r := gin.New()
	r.Use(gin.Recovery())
	if logger {
		f, err := os.OpenFile(logPath, os.O_WRONLY|os.O_CREATE|os.O_APPEND, 0o600)
		if err != nil {
			return err
		}
		defer f.Close()
		r.Use(gin.LoggerWithWriter(io.Writer(f)))
	}
	const identityKey = "user"
	mw, err := jwt.New(&jwt.GinJWTMiddleware{
		Realm:       "ginjwt",
		Key:         []byte(secret),
		Timeout:     ttl,
		IdentityKey: identityKey,
		TokenLookup: "header: Authorization",
		PayloadFunc: func(data any) jwt.MapClaims { return jwt.MapClaims{identityKey: data} },
		// The benchmark measures verification; /login hands out a token without a password check.
		Authenticator: func(*gin.Context) (any, error) { return "alice", nil },
	})
	if err != nil {
		return err
	}
	r.GET("/unprotected", func(c *gin.Context) {
		c.JSON(http.StatusOK, gin.H{"message": "Anyone can view this."})
	})
	r.GET("/login", mw.LoginHandler)
	auth := r.Group("/", mw.MiddlewareFunc())
	auth.GET("/protected", func(c *gin.Context) {
		user, _ := c.Get(identityKey)
		c.JSON(http.StatusOK, gin.H{"message": "Only available to people with valid tokens.", "user": user})
	})

	ln, err := net.Listen("tcp", addr)
	if err != nil {
		return err
	}
	fmt.Println("listening", ln.Addr().String())
	// tokengate's http.Server settings (its defaults), so that both sides pay for the same deadline
	// bookkeeping on every request and the comparison is of what each does with a token.
	srv := &http.Server{Handler: r, ReadHeaderTimeout: 5 * time.Second, ReadTimeout: 10 * time.Second,
		WriteTimeout: 10 * time.Second, IdleTimeout: 60 * time.Second, MaxHeaderBytes: 64 << 10}
	return srv.Serve(ln)
}
