package config

import (
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"
)

func writeCfg(t *testing.T, body string) string {
	t.Helper()
	dir := t.TempDir()
	p := filepath.Join(dir, "lb.yaml")
	if err := os.WriteFile(p, []byte(body), 0o644); err != nil {
		t.Fatal(err)
	}
	os.WriteFile(filepath.Join(dir, "m.yaml"), []byte("x"), 0o644)
	return p
}

func TestLoadDefaultsAndEnv(t *testing.T) {
	t.Setenv("LB_DROP", "drops/in")
	p := writeCfg(t, `
flows:
  - name: asn
    source: {local: {dir: "${LB_DROP}", min_age: 2s}}
    parser: {format: x12}
    mapping: m.yaml
    topic: "${LB_TOPIC:-asn.events}"
    dead_letter_topic: asn.dlt
`)
	c, err := Load(p)
	if err != nil {
		t.Fatal(err)
	}
	dir := filepath.Dir(p)
	if !c.Embedded() || c.Kafka.EmbeddedListen != "127.0.0.1:9092" {
		t.Errorf("kafka defaults = %+v", c.Kafka)
	}
	if c.StateDir != filepath.Join(dir, "state") || c.Kafka.EmbeddedDataDir != filepath.Join(dir, "state", "kafka") {
		t.Errorf("state dirs = %q, %q", c.StateDir, c.Kafka.EmbeddedDataDir)
	}
	f := c.Flows[0]
	if f.Source.Local.Dir != filepath.Join(dir, "drops/in") || f.Topic != "asn.events" ||
		time.Duration(f.Source.Local.MinAge) != 2*time.Second || time.Duration(f.Source.Local.PollInterval) != time.Second ||
		f.Mappings[0] != filepath.Join(dir, "m.yaml") || f.Unmapped != "generic" {
		t.Errorf("flow = %+v, local = %+v", f, f.Source.Local)
	}
	if err := c.Validate(); err != nil {
		t.Errorf("Validate: %v", err)
	}
}

func TestUnknownKeyAndMissingEnv(t *testing.T) {
	if _, err := Load(writeCfg(t, "state_dir: x\nflowz: []\n")); err == nil || !strings.Contains(err.Error(), "flowz") {
		t.Errorf("unknown key: err = %v, want it named", err)
	}
	os.Unsetenv("LB_NOPE_1")
	if _, err := Load(writeCfg(t, "state_dir: ${LB_NOPE_1}\n")); err == nil || !strings.Contains(err.Error(), "LB_NOPE_1") {
		t.Errorf("missing env: err = %v, want the variable named", err)
	}
	if _, err := Load(writeCfg(t, "flows:\n - name: a\n   source: {local: {dir: x, poll_interval: soon}}\n")); err == nil || !strings.Contains(err.Error(), "duration") {
		t.Errorf("bad duration: err = %v", err)
	}
}

func TestValidateListsEveryProblem(t *testing.T) {
	c, err := Load(writeCfg(t, `
log_level: loud
flows:
  - name: "bad name!"
    source: {}
    parser: {format: csv}
    topic: t
    dead_letter_topic: t
  - name: fw
    source: {local: {dir: d}}
    parser: {format: fixedwidth}
    mapping: missing.yaml
`))
	if err != nil {
		t.Fatal(err)
	}
	err = c.Validate()
	if err == nil {
		t.Fatal("no problems reported")
	}
	for _, want := range []string{"log_level", "may use letters", "source is required", `"csv" is not supported`,
		"mapping is required", "must differ", "layout is required", "missing.yaml", `flow "fw": topic is required`, "dead_letter_topic is required"} {
		if !strings.Contains(err.Error(), want) {
			t.Errorf("problems lack %q:\n%v", want, err)
		}
	}
}

func TestSeed(t *testing.T) {
	dir := t.TempDir()
	src := filepath.Join(dir, "src")
	os.MkdirAll(src, 0o755)
	os.WriteFile(filepath.Join(src, "a.edi"), []byte("A"), 0o644)
	l := &Local{Dir: filepath.Join(dir, "work", "in"), SeedFrom: src}
	if ok, err := l.Seed(); !ok || err != nil {
		t.Fatalf("Seed = %v, %v", ok, err)
	}
	if b, _ := os.ReadFile(filepath.Join(l.Dir, "a.edi")); string(b) != "A" {
		t.Fatalf("seeded content = %q", b)
	}
	if ok, _ := l.Seed(); ok {
		t.Fatal("seeded twice")
	}
}

func TestSASLPasswordFromEnvOrFile(t *testing.T) {
	dir := t.TempDir()
	pw := filepath.Join(dir, "pw")
	os.WriteFile(pw, []byte("s3cret\n"), 0o600)
	p := filepath.Join(dir, "lb.yaml")
	os.WriteFile(p, []byte("kafka:\n  brokers: [k1:9093]\n  tls: {ca_file: ca.pem}\n  sasl: {mechanism: PLAIN, username: bridge, password_file: pw}\n"), 0o644)
	c, err := Load(p)
	if err != nil {
		t.Fatal(err)
	}
	if got, err := c.Kafka.SASL.Password(); err != nil || got != "s3cret" {
		t.Fatalf("password = %q, %v", got, err)
	}
	if c.Kafka.TLS.CAFile != filepath.Join(dir, "ca.pem") {
		t.Fatalf("ca_file not resolved: %q", c.Kafka.TLS.CAFile)
	}
	s := &SASL{Mechanism: "PLAIN", Username: "u", PasswordEnv: "LB_TEST_PW_UNSET"}
	os.Unsetenv("LB_TEST_PW_UNSET")
	if _, err := s.Password(); err == nil || !strings.Contains(err.Error(), "LB_TEST_PW_UNSET") {
		t.Fatalf("unset env: %v", err)
	}
	t.Setenv("LB_TEST_PW", "from-env")
	s.PasswordEnv = "LB_TEST_PW"
	if got, _ := s.Password(); got != "from-env" {
		t.Fatalf("env password = %q", got)
	}
}

func TestEveryYAMLProblemAtOnce(t *testing.T) {
	_, err := Load(writeCfg(t, `
kafka:
  embeded_listen: 127.0.0.1:1
flows:
  - name: a
    sorce: {}
    source: {local: {dir: x, poll_interval: "5 minutes", min_age: soon}}
`))
	if err == nil {
		t.Fatal("no error")
	}
	for _, want := range []string{`line 3: unknown key "embeded_listen" in kafka`, `line 6: unknown key "sorce" in flows[0]`,
		`"5 minutes" is not a duration`, `"soon" is not a duration`, "4 problem(s)"} {
		if !strings.Contains(err.Error(), want) {
			t.Errorf("error lacks %q:\n%v", want, err)
		}
	}
	if strings.Contains(err.Error(), "config.Kafka") {
		t.Errorf("error exposes Go type names: %v", err)
	}
}

func TestEnvOnlyInValues(t *testing.T) {
	t.Setenv("LB_T", "a, b: c")
	os.Unsetenv("LB_IN_COMMENT")
	c, err := Load(writeCfg(t, `
# a comment may mention ${LB_IN_COMMENT} freely
state_dir: "$${HOME}/x"
flows:
  - name: a
    topic: ${LB_T}
    dead_letter_topic: ${LB_MISSING_1:-dlt}
`))
	if err != nil {
		t.Fatal(err)
	}
	if c.Flows[0].Topic != "a, b: c" || c.Flows[0].DeadLetterTopic != "dlt" || !strings.HasSuffix(c.StateDir, "${HOME}/x") {
		t.Fatalf("topic %q, dlt %q, state_dir %q", c.Flows[0].Topic, c.Flows[0].DeadLetterTopic, c.StateDir)
	}
	_, err = Load(writeCfg(t, "state_dir: ${LB_MISSING_2}\nlog_level: ${LB_MISSING_2}\n"))
	if err == nil || strings.Count(err.Error(), "LB_MISSING_2") != 1 {
		t.Fatalf("err = %v, want LB_MISSING_2 named once", err)
	}
}

func TestValidateFoldersAndListen(t *testing.T) {
	c, err := Load(writeCfg(t, `
kafka: {embedded_listen: "0.0.0.0:9092"}
flows:
  - name: a
    source: {local: {dir: in, processing_dir: ../elsewhere, archive_dir: /abs, error_dir: ../elsewhere, max_files_per_poll: -1}}
    parser: {format: x12}
    mapping: m.yaml
    topic: t
    dead_letter_topic: t.dlt
    batch_size: -5
  - name: b
    source: {local: {dir: in}}
    parser: {format: x12}
    mapping: m.yaml
    topic: t
    dead_letter_topic: t.dlt
`))
	if err != nil {
		t.Fatal(err)
	}
	err = c.Validate()
	for _, want := range []string{"loopback only", `processing_dir "../elsewhere" must be a folder inside`, `archive_dir "/abs"`,
		"are the same folder", "max_files_per_poll must not be negative", "batch_size must not be negative", `already the drop folder of flow "a"`} {
		if err == nil || !strings.Contains(err.Error(), want) {
			t.Errorf("problems lack %q:\n%v", want, err)
		}
	}
}

func TestEnvNumbersAndEmptyDefaults(t *testing.T) {
	t.Setenv("LB_BATCH", "250")
	t.Setenv("LB_EMPTY", "")
	c, err := Load(writeCfg(t, `
kafka: {brokers: ["k1:9092,k2:9092"]}
flows:
  - name: a
    batch_size: ${LB_BATCH}
    source: {local: {dir: x, max_files_per_poll: "${LB_UNSET_N:-7}", poll_interval: "${LB_EMPTY:-2s}"}}
    event_source: "${LB_TRUE:-true}"
    topic: "bad topic!"
    dead_letter_topic: ok.dlt
`))
	if err != nil {
		t.Fatal(err)
	}
	f := c.Flows[0]
	if f.EventSource != "true" {
		t.Fatalf("event_source %q", f.EventSource)
	}
	if f.BatchSize != 250 || f.Source.Local.MaxFilesPerPoll != 7 || time.Duration(f.Source.Local.PollInterval) != 2*time.Second {
		t.Fatalf("batch %d, max %d, poll %v", f.BatchSize, f.Source.Local.MaxFilesPerPoll, f.Source.Local.PollInterval)
	}
	if len(c.Kafka.Brokers) != 2 || c.Kafka.Brokers[1] != "k2:9092" {
		t.Fatalf("brokers %q", c.Kafka.Brokers)
	}
	if err := c.Validate(); err == nil || !strings.Contains(err.Error(), `"bad topic!" is not a valid Kafka topic name`) {
		t.Fatalf("Validate: %v", err)
	}
	c.Kafka.Brokers = []string{"k1"}
	if err := c.Validate(); err == nil || !strings.Contains(err.Error(), `"k1" is not host:port`) {
		t.Fatalf("Validate: %v", err)
	}
}

func TestRemoteSources(t *testing.T) {
	t.Setenv("LB_SFTP_PW", "s3cret-pw")
	p := writeCfg(t, `
flows:
  - name: partner-sftp
    source:
      sftp: {addr: "sftp.example.com:22", user: acme, password_env: LB_SFTP_PW, known_hosts: kh, dir: /outbound, pattern: "*.edi", claim: none, archive: leave, order: mtime}

    parser: {format: x12}
    mapping: m.yaml
    topic: t1
    dead_letter_topic: t1.dlt
  - name: partner-ftp
    source:
      ftp: {addr: "ftp.example.com:21", user: acme, password_env: LB_SFTP_PW, dir: in, archive: delete}
    parser: {format: x12}
    mapping: m.yaml
    topic: t2
    dead_letter_topic: t2.dlt
`)
	os.WriteFile(filepath.Join(filepath.Dir(p), "kh"), []byte("x"), 0o644)
	c, err := Load(p)
	if err != nil {
		t.Fatal(err)
	}
	if err := c.Validate(); err != nil {
		t.Fatalf("Validate: %v", err)
	}
	s, f := c.Flows[0].Source, c.Flows[1].Source
	if s.Kind() != "sftp" || s.SFTP.KnownHosts != filepath.Join(c.Dir, "kh") || s.SFTP.Claim != "none" || s.SFTP.Archive != "leave" ||
		s.SFTP.Quarantine != "move" || s.SFTP.Order != "mtime" || s.SFTP.Pattern != "*.edi" {
		t.Errorf("sftp = %+v", s.SFTP)
	}
	// Remote drops default to a slower poll and a safety age.
	if time.Duration(s.SFTP.PollInterval) != 10*time.Second || time.Duration(s.SFTP.MinAge) != 30*time.Second {
		t.Errorf("sftp poll %v min_age %v, want 10s and 30s", s.SFTP.PollInterval, s.SFTP.MinAge)
	}
	if f.Kind() != "ftp" || f.FTP.TLS != "explicit" || f.FTP.Archive != "delete" || f.FTP.Claim != "auto" {
		t.Errorf("ftp = %+v", f.FTP)
	}
}

func TestRemoteSourceProblems(t *testing.T) {
	os.Unsetenv("LB_NOT_SET_PW")
	p := writeCfg(t, `
flows:
  - name: a
    source:
      sftp: {addr: "h:22", user: u, password_env: LB_NOT_SET_PW, claim: maybe, paternn: "*"}
    parser: {format: x12}
    mapping: m.yaml
    topic: t1
    dead_letter_topic: t1.dlt
`)
	if _, err := Load(p); err == nil || !strings.Contains(err.Error(), `unknown key "paternn"`) || !strings.Contains(err.Error(), "pattern") {
		t.Fatalf("unknown key in an inline section: err = %v", err)
	}
	p = writeCfg(t, `
flows:
  - name: a
    source:
      sftp: {addr: "h:22", user: u, password_env: LB_NOT_SET_PW, claim: maybe}
      ftp: {addr: "h:21", user: u, tls: implicit}
    parser: {format: x12}
    mapping: m.yaml
    topic: t1
    dead_letter_topic: t1.dlt
  - name: b
    source:
      local: {dir: b, archive: leave}
    parser: {format: x12}
    mapping: m.yaml
    topic: t2
    dead_letter_topic: t2.dlt
`)
	c, err := Load(p)
	if err != nil {
		t.Fatal(err)
	}
	err = c.Validate()
	for _, want := range []string{"known_hosts is required", "LB_NOT_SET_PW is not set", "more than one transport",
		`tls "implicit"`, "needs password_env or password_file", "need claim: none"} {
		if err == nil || !strings.Contains(err.Error(), want) {
			t.Errorf("Validate() = %v, want it to mention %q", err, want)
		}
	}
	if err != nil && strings.Contains(err.Error(), "s3cret") {
		t.Errorf("a secret leaked into an error: %v", err)
	}
}
