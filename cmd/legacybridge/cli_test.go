package main

import (
	"bytes"
	"context"
	"encoding/json"
	"os"
	"path/filepath"
	"strings"
	"testing"
)

func run(t *testing.T, args ...string) (int, string, string) {
	t.Helper()
	var out, errb bytes.Buffer
	code := runMain(context.Background(), args, &out, &errb)
	return code, out.String(), errb.String()
}

func TestHelpExplainsEveryCommand(t *testing.T) {
	code, out, _ := run(t, "--help")
	if code != 0 {
		t.Fatalf("--help exit %d", code)
	}
	for _, c := range []string{"run", "parse", "validate", "kafka", "tail"} {
		if !strings.Contains(out, "  "+c+" ") {
			t.Errorf("--help does not explain %q:\n%s", c, out)
		}
	}
	for _, c := range [][]string{{"run", "--help"}, {"parse", "-h"}, {"validate", "--help"}, {"kafka", "serve", "--help"}, {"tail", "--help"}} {
		code, _, errOut := run(t, c...)
		if code != 0 || !strings.Contains(errOut, "Usage: legacybridge") || !strings.Contains(errOut, "Flags:") {
			t.Errorf("%v: exit %d, output:\n%s", c, code, errOut)
		}
	}
	if code, _, _ := run(t, "frobnicate"); code != 2 {
		t.Errorf("unknown command exit %d, want 2", code)
	}
}

func TestParseX12(t *testing.T) {
	code, out, errOut := run(t, "parse", "../../legacy-fixtures/demo/drops/x12/ASN_ACME_20241202_0815.edi")
	if code != 0 {
		t.Fatalf("exit %d: %s", code, errOut)
	}
	lines := strings.Split(strings.TrimSpace(out), "\n")
	if len(lines) != 2 {
		t.Fatalf("%d JSON objects, want 2 (one per transaction set)", len(lines))
	}
	var rec struct {
		Format   string
		Type     string
		Envelope map[string]string
		Segments []json.RawMessage
	}
	if err := json.Unmarshal([]byte(lines[1]), &rec); err != nil {
		t.Fatal(err)
	}
	env := rec.Envelope
	if rec.Format != "x12" || rec.Type != "856" || strings.TrimSpace(env["isa06"]) != "ACMEPARTS" || env["isa05"] != "ZZ" ||
		strings.TrimSpace(env["isa08"]) != "NORTHWIND" || env["isa13"] != "000048213" || env["gs06"] != "48213" ||
		env["gs01"] != "SH" || env["st02"] != "0002" || len(rec.Segments) != 17 {
		t.Fatalf("record = %+v (%d segments)", rec, len(rec.Segments))
	}
}

func TestParseMalformedNamesThePlace(t *testing.T) {
	bad := filepath.Join(t.TempDir(), "bad.edi")
	os.WriteFile(bad, []byte("ISA*00*          *00*          *ZZ*SENDERID       *ZZ*RECEIVERID     *240115*1200*U*00401*000000001*0*P*>~\n"+
		"GS*PO*SENDERID*RECEIVERID*20240115*1200*1*X*004010~\nST*850*0001~\nBEG*00*SA*PO0001**20240115~\nSE*9*0001~\nGE*1*1~\nIEA*1*000000001~\n"), 0o644)
	code, _, errOut := run(t, "parse", bad)
	if code != 1 {
		t.Fatalf("exit %d, want 1", code)
	}
	for _, want := range []string{"bad.edi", "segment 5", "SE", "byte offset", "SE01"} {
		if !strings.Contains(errOut, want) {
			t.Errorf("stderr lacks %q:\n%s", want, errOut)
		}
	}
}

func TestParseFixedWidthNeedsLayout(t *testing.T) {
	f := "../../legacy-fixtures/demo/drops/inventory/INV20240115-001.txt"
	if code, _, errOut := run(t, "parse", f); code != 1 || !strings.Contains(errOut, "--layout") {
		t.Fatalf("without layout: exit %d, %s", code, errOut)
	}
	code, out, errOut := run(t, "parse", "--layout", "../../legacy-fixtures/demo/layouts/inventory-movement.yaml", f)
	if code != 0 || strings.Count(out, "\n") < 3 {
		t.Fatalf("exit %d, %d lines: %s", code, strings.Count(out, "\n"), errOut)
	}
}

func TestValidate(t *testing.T) {
	if code, out, errOut := run(t, "validate", "--config", "../../legacy-fixtures/demo/legacybridge.yaml"); code != 0 {
		t.Fatalf("demo config: exit %d\n%s%s", code, out, errOut)
	}
	dir := t.TempDir()
	cfg := filepath.Join(dir, "bad.yaml")
	os.WriteFile(filepath.Join(dir, "broken-mapping.yaml"), []byte("event_type: [\n"), 0o644)
	os.WriteFile(cfg, []byte(`
flows:
  - name: a
    source: {local: {dir: in}}
    parser: {format: fixedwidth, layout: nope.yaml}
    mapping: broken-mapping.yaml
    topic: t
  - name: a
    source: {local: {dir: in}}
    parser: {format: x12}
    mapping: missing.yaml
    topic: t
    dead_letter_topic: t.dlt
  - name: c
    source: {local: {dir: in2}}
    parser: {format: x12}
    mapping: `+filepath.Join(mustAbs(t, "../../legacy-fixtures/demo/mappings"), "inventory-movement.yaml")+`
    topic: t
    dead_letter_topic: t.dlt
`), 0o644)
	code, _, errOut := run(t, "validate", "--config", cfg)
	if code != 1 {
		t.Fatalf("exit %d, want 1", code)
	}
	for _, want := range []string{"nope.yaml", "broken-mapping.yaml", "missing.yaml", "dead_letter_topic is required", "name used twice",
		"is for fixedwidth records, but the flow's parser is x12"} {
		if !strings.Contains(errOut, want) {
			t.Errorf("problems lack %q:\n%s", want, errOut)
		}
	}
}

func mustAbs(t *testing.T, p string) string {
	t.Helper()
	a, err := filepath.Abs(p)
	if err != nil {
		t.Fatal(err)
	}
	return a
}

func TestParseEDIFACTAuto(t *testing.T) {
	// UNOC (ISO-8859-1): the é in the party name arrives as UTF-8.
	edi := "UNA:+.? '\nUNB+UNOC:3+SENDER:14+RECEIVER:14+241202:0815+REF42'\n" +
		"UNH+1+ORDERS:D:96A:UN'\nBGM+220+PO4711+9'\nNAD+BY+++Soci\xe9t\xe9 G?+M'\nUNT+4+1'\n" +
		"UNH+2+ORDERS:D:96A:UN'\nBGM+220+PO4712+9'\nUNT+3+2'\nUNZ+2+REF42'\n"
	p := filepath.Join(t.TempDir(), "orders.edi")
	os.WriteFile(p, []byte(edi), 0o644)
	code, out, errOut := run(t, "parse", p)
	if code != 0 {
		t.Fatalf("exit %d: %s", code, errOut)
	}
	lines := strings.Split(strings.TrimSpace(out), "\n")
	if len(lines) != 2 {
		t.Fatalf("%d JSON objects, want 2 (one per message): %s", len(lines), out)
	}
	var rec struct {
		Format, Type string
		Segments     []struct {
			Tag      string
			Elements []json.RawMessage // a string, or a list of components
		}
	}
	if err := json.Unmarshal([]byte(lines[0]), &rec); err != nil {
		t.Fatal(err)
	}
	if rec.Format != "edifact" || rec.Type != "ORDERS" || len(rec.Segments) != 4 {
		t.Fatalf("record = %+v", rec)
	}
	var got string
	json.Unmarshal(rec.Segments[2].Elements[3], &got)
	if got != "Société G+M" {
		t.Errorf("NAD party name = %q, want %q (UNOC decoded, release character applied)", got, "Société G+M")
	}

	// A wrong UNT count names the file, segment and byte offset.
	bad := strings.Replace(edi, "UNT+3+2'", "UNT+9+2'", 1)
	os.WriteFile(p, []byte(bad), 0o644)
	code, _, errOut = run(t, "parse", "--format", "edifact", p)
	if code != 1 || !strings.Contains(errOut, p) || !strings.Contains(errOut, "UNT") || !strings.Contains(errOut, "byte offset") {
		t.Errorf("exit %d, stderr %q; want 1 naming the file, the UNT segment and its offset", code, errOut)
	}
}

// TestLayoutFromCopybook: the layout written from the copybook reads the
// EBCDIC file exactly as the copybook itself does.
func TestLayoutFromCopybook(t *testing.T) {
	code, out, errOut := run(t, "layout", "from-copybook", "../../legacy-fixtures/copybook/payments.cpy")
	if code != 0 {
		t.Fatalf("exit %d: %s", code, errOut)
	}
	if !strings.Contains(out, "storage: packed") || !strings.Contains(out, "encoding: ibm037") {
		t.Fatalf("layout lacks the packed field or the EBCDIC encoding:\n%s", out)
	}
	p := filepath.Join(t.TempDir(), "payments.yaml")
	os.WriteFile(p, []byte(out), 0o644)
	_, viaYAML, e1 := run(t, "parse", "--layout", p, "../../legacy-fixtures/copybook/payments.dat")
	_, viaCpy, e2 := run(t, "parse", "--layout", "../../legacy-fixtures/copybook/payments.cpy", "../../legacy-fixtures/copybook/payments.dat")
	if viaYAML == "" || e1 != "" || e2 != "" {
		t.Fatalf("parse failed: %s / %s", e1, e2)
	}
	strip := func(s string) string { return strings.ReplaceAll(s, p, "X") }
	if strip(viaYAML) != strings.ReplaceAll(viaCpy, "../../legacy-fixtures/copybook/payments.cpy", "X") {
		t.Errorf("records differ between the written layout and the copybook:\n%s\n%s", viaYAML, viaCpy)
	}
	if code, _, errOut := run(t, "layout", "from-copybook", "nope.cpy"); code != 1 || !strings.Contains(errOut, "nope.cpy") {
		t.Errorf("missing copybook: exit %d, %q", code, errOut)
	}
}
