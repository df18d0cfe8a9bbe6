package cdc

import (
	"context"
	"database/sql"
	"log/slog"
	"time"
)

// WaitReady pings db until it answers. Errors the dialect classifies as
// transient (nothing listening yet, a listener that does not know the
// service yet, timeouts, lost connections) are retried, the wait doubling
// from 200ms up to maxWait (default 30s); a permanent error (credentials,
// a refused ACL, a missing database) is returned at once as an *Error
// with the hint, as is ctx's end after the last attempt's error.
func WaitReady(ctx context.Context, db *sql.DB, d Dialect, maxWait time.Duration, log *slog.Logger) error {
	if maxWait <= 0 {
		maxWait = 30 * time.Second
	}
	if log == nil {
		log = slog.Default()
	}
	wait := 200 * time.Millisecond
	for attempt := 1; ; attempt++ {
		err := db.PingContext(ctx)
		if err == nil {
			return nil
		}
		e := &Error{Op: "connect", Class: d.Classify(err), Err: err}
		if !e.Class.Transient || ctx.Err() != nil {
			return e
		}
		log.Warn("database not ready; retrying", "attempt", attempt, "kind", e.Class.Kind.String(), "code", e.Class.Code, "err", err, "retry_in", wait)
		select {
		case <-ctx.Done():
			return e
		case <-time.After(wait):
		}
		wait = min(wait*2, maxWait)
	}
}
