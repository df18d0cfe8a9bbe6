package cdc

import (
	"testing"

	"github.com/google/go-cmp/cmp"
)

func TestParseName(t *testing.T) {
	for _, tc := range []struct {
		in      string
		want    Name
		wantErr bool
	}{
		{in: "MTL_MATERIAL_TRANSACTIONS", want: Name{Object: "MTL_MATERIAL_TRANSACTIONS"}},
		{in: "inv.mtl_material_transactions", want: Name{Schema: "inv", Object: "mtl_material_transactions"}},
		{in: "APPS.V$SESSION#1", want: Name{Schema: "APPS", Object: "V$SESSION#1"}},
		{in: "_x", want: Name{Object: "_x"}},
		{in: "", wantErr: true},
		{in: "a.b.c", wantErr: true},
		{in: ".b", wantErr: true},
		{in: "a.", wantErr: true},
		{in: "1abc", wantErr: true},
		{in: `x"; DROP TABLE y; --`, wantErr: true},
		{in: "x y", wantErr: true},
		{in: "x'y", wantErr: true},
		{in: "tab\x00le", wantErr: true},
		{in: "ünïcode", wantErr: true},
		{in: "a" + string(make([]byte, 128)), wantErr: true},
	} {
		got, err := ParseName(tc.in)
		if (err != nil) != tc.wantErr {
			t.Errorf("ParseName(%q) error = %v, want error %v", tc.in, err, tc.wantErr)
			continue
		}
		if diff := cmp.Diff(tc.want, got); diff != "" {
			t.Errorf("ParseName(%q) (-want +got):\n%s", tc.in, diff)
		}
	}
	long := "A"
	for len(long) < 128 {
		long += "B"
	}
	if _, err := ParseName(long); err != nil {
		t.Errorf("128-character name refused: %v", err)
	}
	if _, err := ParseName(long + "C"); err == nil {
		t.Errorf("129-character name accepted")
	}
}

func TestNameType(t *testing.T) {
	n, _ := ParseName("inv.mtl_material_transactions")
	if got, want := n.Type(), "MTL_MATERIAL_TRANSACTIONS"; got != want {
		t.Errorf("Type() = %q, want %q", got, want)
	}
	if got, want := n.String(), "inv.mtl_material_transactions"; got != want {
		t.Errorf("String() = %q, want %q", got, want)
	}
}
