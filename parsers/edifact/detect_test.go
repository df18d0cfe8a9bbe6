package edifact

import (
	"os"
	"path/filepath"
	"strings"
	"testing"
)

func TestDetect(t *testing.T) {
	tests := []struct {
		in   string
		want bool
	}{
		{"UNA:+.? 'UNB+UNOA:3+S+R+240115:1200+X'", true},
		{"\xef\xbb\xbf\r\n  UNA=*.? ~UNB*", true},
		{"UNB+UNOC:3+S+R+240115:1200+X'", true},
		{"UNB\x1dUNOB\x1f4\x1dS", true},
		{"UNH+1+ORDERS:D:96A:UN'", true},
		{"ISA*00*          *00*", false},
		{"UNA:+.", false},
		{"UNAB:+.? '", false},
		{"UNB*UNOA=3", false}, // no UNA: the decoder could not read it
		{"UNBX+", false},
		{"", false},
		{"HDR0001 fixed width", false},
	}
	for _, tc := range tests {
		if got := Detect([]byte(tc.in)); got != tc.want {
			t.Errorf("Detect(%q) = %v, want %v", tc.in, got, tc.want)
		}
	}
	// Every EDIFACT file of the corpus, and no X12 one.
	dir := filepath.Join(sharedDir(t), "corpus")
	for _, path := range edifactCorpusFiles(t) {
		b, err := os.ReadFile(path)
		if err != nil {
			t.Fatal(err)
		}
		if !Detect(b[:min(len(b), 512)]) {
			t.Errorf("%s: not detected", filepath.Base(path))
		}
	}
	x12, _ := filepath.Glob(filepath.Join(dir, "*", "*x12*"))
	if len(x12) < 5 {
		t.Fatalf("found %d X12 corpus files", len(x12))
	}
	for _, path := range x12 {
		b, err := os.ReadFile(path)
		if err != nil {
			t.Fatal(err)
		}
		if Detect(b[:min(len(b), 512)]) && !strings.Contains(path, "EDIFACT") {
			t.Errorf("%s: X12 taken for EDIFACT", filepath.Base(path))
		}
	}
}
