package local

import (
	"context"
	"testing"
)

// The file emitter's DirSyncer (emitters/file), by shape.
var _ interface {
	SyncDir(ctx context.Context, dir string) error
} = (*FS)(nil)

// Create's Close makes the rename durable by syncing the file's folder.
func TestCreateSyncsFolder(t *testing.T) {
	f, err := Open(t.TempDir())
	if err != nil {
		t.Fatal(err)
	}
	defer f.Close()
	ctx := context.Background()
	if err := f.MkdirAll(ctx, "out"); err != nil {
		t.Fatal(err)
	}
	w, err := f.Create(ctx, "out/a.json")
	if err != nil {
		t.Fatal(err)
	}
	w.Write([]byte("{}"))
	if err := w.Close(); err != nil {
		t.Fatal(err)
	}
	if got := f.dirSyncs.Load(); got != 1 {
		t.Fatalf("folder syncs after Create+Close = %d, want 1", got)
	}
	if err := f.SyncDir(ctx, "out"); err != nil || f.dirSyncs.Load() != 2 {
		t.Fatalf("SyncDir = %v (%d syncs), want nil and 2", err, f.dirSyncs.Load())
	}
	if err := f.SyncDir(ctx, "../x"); err == nil {
		t.Fatal("SyncDir outside the root succeeded")
	}
}
