package bridges_test

import (
	"context"
	"slices"
	"testing"
	"time"

	"legacybridge/bridges"
	"legacybridge/bridges/bridgestest"
)

func TestSweepTemp(t *testing.T) {
	ctx := context.Background()
	fs := &bridgestest.MemFS{}
	old := time.Now().Add(-2 * time.Hour)
	put := func(name string, at time.Time) {
		if err := fs.WriteFile(name, []byte("x"), at); err != nil {
			t.Fatal(err)
		}
	}
	put("out/A.edi", old)
	put("out/.A.edi.0badf00d.legacybridge-tmp", old)
	put("out/.B.edi.12345678.legacybridge-tmp", time.Now()) // a writer at work
	put("out/.hidden", old)
	removed, err := bridges.SweepTemp(ctx, fs, "out", time.Now().Add(-time.Hour))
	if err != nil {
		t.Fatal(err)
	}
	if !slices.Equal(removed, []string{".A.edi.0badf00d.legacybridge-tmp"}) {
		t.Fatalf("removed %q", removed)
	}
	es, _ := fs.List(ctx, "out")
	var names []string
	for _, e := range es {
		names = append(names, e.Name)
	}
	slices.Sort(names)
	if !slices.Equal(names, []string{".B.edi.12345678.legacybridge-tmp", ".hidden", "A.edi"}) {
		t.Fatalf("left %q", names)
	}
}
