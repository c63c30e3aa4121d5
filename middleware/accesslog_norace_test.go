//go:build !race

package middleware

// raceEnabled: see accesslog_race_test.go.
const raceEnabled = false
