package bridges

import (
	"context"
	"strings"
	"time"
)

// IsTempName reports whether base is a temporary name TempName gives.
func IsTempName(base string) bool {
	return strings.HasPrefix(base, ".") && strings.HasSuffix(base, tempSuffix)
}

// SweepTemp removes the temporary files (see TempName) in dir that were
// last written before cutoff: what writers cut off by a crash left. A
// writer still at work touches its file, so a cutoff well in the past
// (an hour, say) never removes one in flight. It returns the names
// removed; an error stops the sweep (those removed so far are returned).
func SweepTemp(ctx context.Context, fsys FS, dir string, cutoff time.Time) ([]string, error) {
	entries, err := fsys.List(ctx, dir)
	if err != nil {
		return nil, err
	}
	var removed []string
	for _, e := range entries {
		if e.IsDir || e.Special || !IsTempName(e.Name) || !e.ModTime.Before(cutoff) {
			continue
		}
		if err := fsys.Remove(ctx, Join(dir, e.Name)); err != nil {
			return removed, err
		}
		removed = append(removed, e.Name)
	}
	return removed, nil
}
