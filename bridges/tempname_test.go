package bridges_test

import (
	"path"
	"strings"
	"testing"

	"legacybridge/bridges"
)

// TestTempName: hidden, in the name's folder, within MaxNameLen, and new at
// each call (two writers of one name never share a temporary file).
func TestTempName(t *testing.T) {
	long := strings.Repeat("é", 127) // 254 bytes
	for _, name := range []string{"a.edi", "out/in/ASN_1.txt", long, "dir/" + long + "x"} {
		seen := map[string]bool{}
		for range 1000 {
			tmp := bridges.TempName(name)
			dir, base := path.Split(tmp)
			switch {
			case dir != path.Dir(name)+"/" && !(dir == "" && path.Dir(name) == "."):
				t.Fatalf("TempName(%q) = %q: not in the same folder", name, tmp)
			case !strings.HasPrefix(base, ".") || !strings.HasSuffix(base, ".legacybridge-tmp"):
				t.Fatalf("TempName(%q) = %q: want .NAME.<random>.legacybridge-tmp", name, tmp)
			case len(base) > bridges.MaxNameLen:
				t.Fatalf("TempName(%q) = %q: %d bytes, over %d", name, tmp, len(base), bridges.MaxNameLen)
			case bridges.CheckName(base) != nil:
				t.Fatalf("TempName(%q) = %q: %v", name, tmp, bridges.CheckName(base))
			case seen[tmp]:
				t.Fatalf("TempName(%q) gave %q twice in 1000 calls", name, tmp)
			}
			seen[tmp] = true
		}
	}
	// Names that fit keep their whole base name, so a listing shows whose
	// temporary file it is; all temporary names have one length.
	if tmp := bridges.TempName("dir/a.edi"); !strings.HasPrefix(tmp, "dir/.a.edi.") || len(tmp) != len("dir/.a.edi.12345678.legacybridge-tmp") {
		t.Errorf("TempName(dir/a.edi) = %q", tmp)
	}
}
