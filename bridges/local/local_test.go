package local_test

import (
	"testing"

	"legacybridge/bridges/bridgestest"
	"legacybridge/bridges/local"
)

func TestConformance(t *testing.T) {
	fsys, err := local.Open(t.TempDir())
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { fsys.Close() })
	bridgestest.TestFS(t, fsys)
}
