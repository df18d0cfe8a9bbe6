package oracle_test

import (
	"testing"

	"legacybridge/cdc/internal/cdctest"
)

// TestConformance runs the whole suite against ORACLE_DSN; it skips
// without one (there is no Oracle in CI).
func TestConformance(t *testing.T) { cdctest.Run(t, cdctest.Oracle()) }
