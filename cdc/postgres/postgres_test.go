package postgres_test

import (
	"testing"

	"legacybridge/cdc/internal/cdctest"
)

func TestConformance(t *testing.T) { cdctest.Run(t, cdctest.Postgres()) }
