// Package config loads legacybridge's YAML configuration: ${ENV} expansion,
// unknown keys rejected, relative paths resolved against the config file, and
// every problem reported at once.
package config

import (
	"errors"
	"fmt"
	"net"
	"os"
	"path"
	"path/filepath"
	"reflect"
	"regexp"
	"slices"
	"sort"
	"strings"
	"time"

	"go.yaml.in/yaml/v3"
)

// Config is the whole file.
type Config struct {
	Kafka Kafka `yaml:"kafka"`
	// StateDir holds the ledger and the embedded broker's data.
	// Default "state" next to the config file.
	StateDir string `yaml:"state_dir"`
	// MetricsListen serves /metrics and /healthz. Default "" (off).
	MetricsListen string `yaml:"metrics_listen"`
	// LogLevel is debug, info, warn or error. Default info.
	LogLevel string `yaml:"log_level"`
	Flows    []Flow `yaml:"flows"`
	// Deliveries write events from Kafka as files into partners' folders.
	Deliveries []Delivery `yaml:"deliveries"`
	// Captures turn changes of database tables into events (see Capture).
	Captures []Capture `yaml:"captures"`
	// Partners are trading partners' EDI profiles (see Partner).
	Partners []Partner `yaml:"partners"`

	// Dir is the folder of the config file (relative paths start there).
	Dir string `yaml:"-"`
}

// Kafka says where events go.
type Kafka struct {
	// Brokers is a list of host:port, or the single word "embedded" (the
	// default): an in-process Kafka-protocol broker on EmbeddedListen.
	Brokers []string `yaml:"brokers"`
	// EmbeddedListen is the loopback address of the embedded broker.
	// Default 127.0.0.1:9092.
	EmbeddedListen string `yaml:"embedded_listen"`
	// EmbeddedDataDir persists the embedded broker. Default STATE_DIR/kafka.
	EmbeddedDataDir string `yaml:"embedded_data_dir"`
	// ClientID sent to the brokers. Default "legacybridge".
	ClientID string `yaml:"client_id"`
	// TLS to the brokers. Default off.
	TLS *TLS `yaml:"tls"`
	// SASL authentication. Default none.
	SASL *SASL `yaml:"sasl"`
}

// TLS settings for a client connection. Certificates are verified; there is
// no option to skip verification.
type TLS struct {
	// CAFile is a PEM bundle of CAs to trust. Default: the system's.
	CAFile string `yaml:"ca_file"`
	// CertFile and KeyFile are a client certificate (mutual TLS).
	CertFile string `yaml:"cert_file"`
	KeyFile  string `yaml:"key_file"`
	// ServerName overrides the name checked in the server certificate.
	ServerName string `yaml:"server_name"`
}

// SASL credentials. The password comes from the environment or a file,
// never from the config text itself.
type SASL struct {
	// Mechanism: PLAIN (the only one supported today).
	Mechanism string `yaml:"mechanism"`
	Username  string `yaml:"username"`
	// PasswordEnv names an environment variable holding the password.
	PasswordEnv string `yaml:"password_env"`
	// PasswordFile is a file holding the password (trailing newline ignored).
	PasswordFile string `yaml:"password_file"`
}

// Password reads the SASL password from its environment variable or file.
func (s *SASL) Password() (string, error) {
	if s.PasswordEnv == "" && s.PasswordFile == "" {
		return "", errors.New("kafka.sasl: set password_env or password_file")
	}
	return Secret("kafka.sasl.password", s.PasswordEnv, s.PasswordFile)
}

// Flow is one migrated integration flow.
type Flow struct {
	Name   string `yaml:"name"`
	Source Source `yaml:"source"`
	Parser Parser `yaml:"parser"`
	// Mapping is one mapping file; Mappings several (first that applies wins).
	Mapping  string   `yaml:"mapping"`
	Mappings []string `yaml:"mappings"`
	// Unmapped says what happens to records no mapping applies to:
	// "generic" (default for EDI: a generic transaction event), "skip", or
	// "dead-letter".
	Unmapped        string `yaml:"unmapped"`
	Topic           string `yaml:"topic"`
	DeadLetterTopic string `yaml:"dead_letter_topic"`
	// EventSource is the CloudEvents source. Default urn:legacybridge:flow:NAME.
	EventSource string `yaml:"event_source"`
	// BatchSize is the number of messages per emit. Default 500.
	BatchSize int `yaml:"batch_size"`
	// DuplicateInterchanges: an EDI interchange (sender, receiver and
	// ISA13 / UNB 0020) delivered before within the window.
	DuplicateInterchanges DuplicateInterchanges `yaml:"duplicate_interchanges"`
	// Acknowledgements, when set, acknowledges the EDI files read (see
	// Acknowledgements).
	Acknowledgements *Acknowledgements `yaml:"acknowledgements"`
}

// DuplicateInterchanges says what happens to a re-sent EDI interchange.
type DuplicateInterchanges struct {
	// Window is how long after its delivery an interchange is remembered.
	// Default 720h (30 days).
	Window Duration `yaml:"window"`
	// Action is "skip" (default: not posted again; logged, and the file is
	// archived as a duplicate when it holds nothing else) or "allow"
	// (posted again, logged at WARN).
	Action string `yaml:"action"`
}

// Source is where files come from; exactly one transport is set.
type Source struct {
	Local *Local `yaml:"local"`
	SFTP  *SFTP  `yaml:"sftp"`
	FTP   *FTP   `yaml:"ftp"`
}

// Kind names the transport that is set ("local", "sftp", "ftp"), or "".
func (s Source) Kind() string {
	switch {
	case s.Local != nil:
		return "local"
	case s.SFTP != nil:
		return "sftp"
	case s.FTP != nil:
		return "ftp"
	}
	return ""
}

// Drop returns the polling rules of the transport that is set, or nil.
func (s Source) Drop() *Drop {
	switch {
	case s.Local != nil:
		return &s.Local.Drop
	case s.SFTP != nil:
		return &s.SFTP.Drop
	case s.FTP != nil:
		return &s.FTP.Drop
	}
	return nil
}

// Drop holds the rules every transport shares: which files, when they are
// complete, and what happens to them afterwards.
type Drop struct {
	// Pattern is a glob on file names. Default "*".
	Pattern string `yaml:"pattern"`
	// PollInterval between listings. Default 1s (local), 10s (remote).
	PollInterval Duration `yaml:"poll_interval"`
	// MinAge a file must reach (by mtime) before pickup. Default 0 (local),
	// 30s (remote: clocks and second-granular mtimes need a margin).
	MinAge Duration `yaml:"min_age"`
	// DoneSuffix: a file is ready when NAME+suffix exists. Default "" (size and
	// mtime stable across two polls).
	DoneSuffix string `yaml:"done_suffix"`
	// ProcessingDir, ArchiveDir, ErrorDir relative to the drop folder.
	// Defaults processing, archive, error.
	ProcessingDir string `yaml:"processing_dir"`
	ArchiveDir    string `yaml:"archive_dir"`
	ErrorDir      string `yaml:"error_dir"`
	// MaxFilesPerPoll limits claims per poll. Default 0 = no limit.
	MaxFilesPerPoll int `yaml:"max_files_per_poll"`
	// Claim is "move" (rename into processing_dir; the default for local
	// drops), "none" for read-only drops (files are read where they are and
	// the ledger remembers which (name, size, mtime) were handled), or "auto"
	// (the default for remote drops: move when the account may write there,
	// otherwise none).
	Claim string `yaml:"claim"`
	// Archive is "move" (default: archive_dir/YYYY-MM-DD/), "leave" (leave
	// the file where it is) or "delete".
	Archive string `yaml:"archive"`
	// Quarantine is "move" (default: error_dir/ with NAME.error.json) or
	// "leave" (the file stays; the report goes to error_dir when writable).
	Quarantine string `yaml:"quarantine"`
	// Order of pickup: "name" (default) or "mtime" (oldest first).
	Order string `yaml:"order"`
}

// Local is a folder on this machine.
type Local struct {
	Dir  string `yaml:"dir"`
	Drop `yaml:",inline"`
	// SeedFrom is for demos: when Dir does not exist yet, it is created and
	// the files of this folder are copied into it. Default "" (off).
	SeedFrom string `yaml:"seed_from"`
}

// SFTP is a drop folder on an SSH server.
type SFTP struct {
	SFTPConn `yaml:",inline"`
	Drop     `yaml:",inline"`
}

// SFTPConn says how to reach a folder on an SSH server. The host key is
// always verified against known_hosts; secrets come from the environment
// or files.
type SFTPConn struct {
	// Addr is host:port (port 22 when omitted).
	Addr string `yaml:"addr"`
	User string `yaml:"user"`
	// PasswordEnv / PasswordFile hold the password (optional with a key).
	PasswordEnv  string `yaml:"password_env"`
	PasswordFile string `yaml:"password_file"`
	// PrivateKeyFile is an OpenSSH/PEM private key (optional with a password).
	PrivateKeyFile string `yaml:"private_key_file"`
	// KeyPassphraseEnv / KeyPassphraseFile unlock an encrypted key.
	KeyPassphraseEnv  string `yaml:"key_passphrase_env"`
	KeyPassphraseFile string `yaml:"key_passphrase_file"`
	// KnownHosts is the known_hosts file holding the server's host key. Required.
	KnownHosts string `yaml:"known_hosts"`
	// Dir is the drop folder on the server. Default: the login folder.
	Dir string `yaml:"dir"`
	// Timeout for connecting and for each request. Default 30s.
	Timeout Duration `yaml:"timeout"`
	// KeepAlive interval. Default 30s.
	KeepAlive Duration `yaml:"keepalive"`
}

// FTP is a drop folder on an FTP server.
type FTP struct {
	FTPConn `yaml:",inline"`
	Drop    `yaml:",inline"`
}

// FTPConn says how to reach a folder on an FTP server, by default over
// explicit TLS (FTPS).
type FTPConn struct {
	// Addr is host:port (port 21 when omitted).
	Addr string `yaml:"addr"`
	User string `yaml:"user"`
	// PasswordEnv / PasswordFile hold the password. One is required.
	PasswordEnv  string `yaml:"password_env"`
	PasswordFile string `yaml:"password_file"`
	// TLS is "explicit" (default: AUTH TLS, certificate verified) or "none"
	// (plain FTP: the password crosses the network in clear).
	TLS string `yaml:"tls"`
	// CAFile is a PEM bundle of CAs to trust. Default: the system's.
	CAFile string `yaml:"ca_file"`
	// ServerName overrides the name checked in the certificate.
	ServerName string `yaml:"server_name"`
	// Dir is the drop folder on the server. Default: the login folder.
	Dir string `yaml:"dir"`
	// Timeout for connecting and for each command. Default 30s.
	Timeout Duration `yaml:"timeout"`
	// DisableMLSD forces LIST listings; DisableEPSV uses PASV. Default false.
	DisableMLSD bool `yaml:"disable_mlsd"`
	DisableEPSV bool `yaml:"disable_epsv"`
	// MaxConns is the number of connections kept open. Default 2.
	MaxConns int `yaml:"max_conns"`
}

// Secret reads a secret from the named environment variable or file (a
// trailing newline is dropped). key names the setting in errors; the value
// itself never appears in one. Both empty gives "".
func Secret(key, env, file string) (string, error) {
	switch {
	case env != "":
		v, ok := os.LookupEnv(env)
		if !ok {
			return "", fmt.Errorf("%s_env: environment variable %s is not set", key, env)
		}
		return v, nil
	case file != "":
		b, err := os.ReadFile(file)
		if err != nil {
			return "", fmt.Errorf("%s_file: %w", key, err)
		}
		return strings.TrimRight(string(b), "\r\n"), nil
	}
	return "", nil
}

// Delivery consumes events from a Kafka topic and writes one file per event
// into a partner's folder: under a temporary name, renamed into place, then
// an optional done marker; the offset is committed only after that.
type Delivery struct {
	Name string `yaml:"name"`
	// Topic to consume. Required.
	Topic string `yaml:"topic"`
	// GroupID of the consumer group. Default legacybridge.delivery.NAME.
	GroupID string `yaml:"group_id"`
	// StartFrom for a new group: earliest (default) or latest.
	StartFrom string `yaml:"start_from"`
	// Types of events to deliver. Default: those the format handles.
	Types []string `yaml:"types"`
	// Destination is the partner's folder; exactly one transport is set.
	Destination Destination `yaml:"destination"`
	// Format of the files: json (the event data), fixedwidth (Spec), edi
	// (the document of acknowledgement events, as generated) or x12-856
	// (shipment notice events as X12 856 interchanges, enveloped by X12).
	Format string `yaml:"format"`
	// Spec is the fixed-width spec file (records, fields and their layout).
	Spec string `yaml:"spec"`
	// X12 is the partner's interchange envelope for format x12-856.
	X12 *DeliveryX12 `yaml:"x12"`
	// NameTemplate is a Go template for file names over the event:
	// .ID .Type .Subject .Time .Partner .ControlNumber .Ext.NAME .FileExt.
	// Default {{.ID}}{{.FileExt}}.
	NameTemplate string `yaml:"name_template"`
	// DoneSuffix, when set, writes NAME+suffix after each file. Default "".
	DoneSuffix string `yaml:"done_suffix"`
	// Partner is the .Partner of the name template (or PartnerExtension:
	// a CloudEvents extension to read it from).
	Partner          string `yaml:"partner"`
	PartnerExtension string `yaml:"partner_extension"`
	// ControlNumberPath is a JSON path into the event data for
	// .ControlNumber (e.g. $.shipmentId), or ControlNumberExtension.
	ControlNumberPath      string `yaml:"control_number_path"`
	ControlNumberExtension string `yaml:"control_number_extension"`
	// DeadLetterTopic takes events that cannot be written (bad data, unsafe
	// name). Default "": the delivery stops at such an event instead.
	DeadLetterTopic string `yaml:"dead_letter_topic"`
	// Concurrency is the number of files written at once. Default 1.
	Concurrency int `yaml:"concurrency"`
}

// DeliveryX12 is the envelope and syntax of the X12 interchanges a
// delivery writes. Control numbers (ISA13, GS06, ST02) are kept in the
// ledger per sender and receiver pair and go up by one per event; a
// redelivered event is written with the numbers it had.
type DeliveryX12 struct {
	// Partner names a profile of partners: its id and qualifier are the
	// receiver, its version and delimiters those of the 856, unless set
	// here.
	Partner string `yaml:"partner"`
	// SenderQualifier and SenderID are ISA05/ISA06 (we); ReceiverQualifier
	// and ReceiverID ISA07/ISA08 (the partner). Ids are required (at most
	// 15 characters); qualifiers default to ZZ.
	SenderQualifier   string `yaml:"sender_qualifier"`
	SenderID          string `yaml:"sender_id"`
	ReceiverQualifier string `yaml:"receiver_qualifier"`
	ReceiverID        string `yaml:"receiver_id"`
	// ApplicationSender and ApplicationReceiver are GS02/GS03. Default the
	// interchange ids.
	ApplicationSender   string `yaml:"application_sender"`
	ApplicationReceiver string `yaml:"application_receiver"`
	// Usage is ISA15: P (production, default) or T (test).
	Usage string `yaml:"usage"`
	// Version is GS08 (ISA12 is its first five characters). Default 004010.
	Version string `yaml:"version"`
	// AckRequested sets ISA14 to 1: the partner is asked for a TA1.
	AckRequested bool `yaml:"ack_requested"`
	// StartControlNumber is the first ISA13 and GS06 for a partner whose
	// sequence went on elsewhere before (the old ESB's last plus one). It
	// applies while the ledger has given this sender and receiver pair no
	// number; after that it is ignored (and logged). Default 1.
	StartControlNumber uint64 `yaml:"start_control_number"`
	// StructureCode is BSN05 (e.g. 0001). Default: not sent.
	StructureCode string `yaml:"structure_code"`
	// Charset of the files: utf-8 (default), windows-1252 or iso-8859-1
	// (a character the charset cannot hold dead-letters the event).
	// Default: the partner profile's.
	Charset string `yaml:"charset"`
	// Delimiters default to element *, component >, segment ~, no
	// repetition separator (one needs version 004020 or later) and no
	// suffix. Release and decimal are EDIFACT's.
	Delimiters Delimiters `yaml:"delimiters"`
}

// Destination is where a delivery writes.
type Destination struct {
	Local *LocalDest `yaml:"local"`
	SFTP  *SFTPConn  `yaml:"sftp"`
	FTP   *FTPConn   `yaml:"ftp"`
}

// LocalDest is a folder on this machine.
type LocalDest struct {
	Dir string `yaml:"dir"`
}

// Kind names the transport that is set, or "".
func (d Destination) Kind() string {
	switch {
	case d.Local != nil:
		return "local"
	case d.SFTP != nil:
		return "sftp"
	case d.FTP != nil:
		return "ftp"
	}
	return ""
}

// Parser picks the format.
type Parser struct {
	// Format is x12, edifact or fixedwidth.
	Format string `yaml:"format"`
	// Layout is the fixed-width layout file.
	Layout string `yaml:"layout"`
	// Documents reads the business documents the layout declares (its
	// documents:, e.g. a NACHA batch) as one record each, for mappings
	// that emit one event per document; default false: one record a line.
	// fixedwidth only.
	Documents bool `yaml:"documents"`
	// Charset of X12 text: utf-8 (default: bytes that are not UTF-8 are
	// read as Windows-1252, with a warning in the log), windows-1252 or
	// iso-8859-1.
	Charset string `yaml:"charset"`
}

// Duration is a time.Duration written like "1s" or "500ms".
type Duration time.Duration

func (d *Duration) UnmarshalYAML(n *yaml.Node) error {
	v, err := time.ParseDuration(n.Value)
	if err != nil {
		return &yaml.TypeError{Errors: []string{fmt.Sprintf("line %d: %q is not a duration (use e.g. 500ms, 2s, 1m)", n.Line, n.Value)}}
	}
	*d = Duration(v)
	return nil
}

// MarshalYAML writes the duration as text.
func (d Duration) MarshalYAML() (any, error) { return time.Duration(d).String(), nil }

var envRef = regexp.MustCompile(`\$\$|\$\{([A-Za-z_][A-Za-z0-9_]*)(:-([^}]*))?\}`)

// Expand replaces ${VAR} and ${VAR:-default} in one value with the
// environment's values; $$ stands for a literal $. Names of unset variables
// without a default are added to missing.
func Expand(v string, lookup func(string) (string, bool), missing map[string]bool) string {
	return envRef.ReplaceAllStringFunc(v, func(m string) string {
		if m == "$$" {
			return "$"
		}
		sm := envRef.FindStringSubmatch(m)
		val, ok := lookup(sm[1])
		if sm[2] != "" && val == "" {
			return sm[3] // like the shell: unset or empty takes the default
		}
		if ok {
			return val
		}
		missing[sm[1]] = true
		return m
	})
}

// expandNode expands variables in every scalar value (never in keys or
// comments); the result stays one YAML value, whatever it contains.
func expandNode(n *yaml.Node, lookup func(string) (string, bool), missing map[string]bool) {
	switch n.Kind {
	case yaml.ScalarNode:
		if strings.Contains(n.Value, "$") {
			n.Value = Expand(n.Value, lookup, missing)
			// The value is re-read by its new text, so batch_size:
			// "${BATCH:-100}" is a number (and a string field still takes
			// any text).
			n.Tag, n.Style = "", 0
		}
	case yaml.MappingNode:
		for i := 1; i < len(n.Content); i += 2 {
			expandNode(n.Content[i], lookup, missing)
		}
	default:
		for _, c := range n.Content {
			expandNode(c, lookup, missing)
		}
	}
}

// checkKeys lists every mapping key that the target type does not declare,
// with its line, so all mistakes are reported at once.
func checkKeys(n *yaml.Node, t reflect.Type, where string, problems *[]string) {
	for n.Kind == yaml.AliasNode && n.Alias != nil {
		n = n.Alias
	}
	for t.Kind() == reflect.Pointer {
		t = t.Elem()
	}
	switch {
	case t.Kind() == reflect.Struct && n.Kind == yaml.MappingNode:
		fields := map[string]reflect.StructField{}
		var names []string
		var collect func(t reflect.Type)
		collect = func(t reflect.Type) {
			for i := 0; i < t.NumField(); i++ {
				f := t.Field(i)
				parts := strings.Split(f.Tag.Get("yaml"), ",")
				if len(parts) > 1 && parts[1] == "inline" && f.Type.Kind() == reflect.Struct {
					collect(f.Type)
					continue
				}
				tag := parts[0]
				if tag == "" || tag == "-" || !f.IsExported() {
					continue
				}
				fields[tag] = f
				names = append(names, tag)
			}
		}
		collect(t)
		for i := 0; i+1 < len(n.Content); i += 2 {
			k, v := n.Content[i], n.Content[i+1]
			if k.Value == "<<" {
				continue
			}
			f, ok := fields[k.Value]
			if !ok {
				*problems = append(*problems, fmt.Sprintf("line %d: unknown key %q in %s (known keys: %s)", k.Line, k.Value, where, strings.Join(names, ", ")))
				continue
			}
			checkKeys(v, f.Type, strings.TrimPrefix(where+"."+k.Value, "the top level."), problems)
		}
	case t.Kind() == reflect.Slice && n.Kind == yaml.SequenceNode:
		for i, c := range n.Content {
			checkKeys(c, t.Elem(), fmt.Sprintf("%s[%d]", where, i), problems)
		}
	}
}

// Load reads the file, expands ${ENV} in its values, decodes it (every
// unknown key and bad value is reported, with its line), fills defaults and
// resolves relative paths. Call Validate for the checks across fields.
func Load(path string) (*Config, error) {
	raw, err := os.ReadFile(path)
	if err != nil {
		return nil, fmt.Errorf("config: %w", err)
	}
	var doc yaml.Node
	if err := yaml.Unmarshal(raw, &doc); err != nil {
		return nil, fmt.Errorf("config %s: %w", path, err)
	}
	var c Config
	if len(doc.Content) > 0 {
		missing := map[string]bool{}
		expandNode(&doc, os.LookupEnv, missing)
		if len(missing) > 0 {
			names := make([]string, 0, len(missing))
			for n := range missing {
				names = append(names, n)
			}
			sort.Strings(names)
			return nil, fmt.Errorf("config %s: environment variable(s) not set: %s (set them, or write ${NAME:-default})", path, strings.Join(names, ", "))
		}
		var problems []string
		checkKeys(doc.Content[0], reflect.TypeOf(c), "the top level", &problems)
		if err := doc.Decode(&c); err != nil {
			var te *yaml.TypeError
			if errors.As(err, &te) {
				problems = append(problems, te.Errors...)
			} else {
				problems = append(problems, err.Error())
			}
		}
		if len(problems) > 0 {
			return nil, fmt.Errorf("config %s: %d problem(s):\n  %s", path, len(problems), strings.Join(problems, "\n  "))
		}
	}
	abs, err := filepath.Abs(path)
	if err != nil {
		return nil, err
	}
	c.Dir = filepath.Dir(abs)
	c.defaults()
	c.deliveryDefaults()
	c.captureDefaults()
	c.partnerDefaults()
	c.deliveryPartners()
	return &c, nil
}

func (c *Config) rel(p string) string {
	if p == "" || filepath.IsAbs(p) {
		return p
	}
	return filepath.Join(c.Dir, p)
}

func (c *Config) defaults() {
	// An entry may hold a comma-separated list (handy with ${KAFKA_BROKERS}).
	var brokers []string
	for _, b := range c.Kafka.Brokers {
		for _, p := range strings.Split(b, ",") {
			if p = strings.TrimSpace(p); p != "" {
				brokers = append(brokers, p)
			}
		}
	}
	c.Kafka.Brokers = brokers
	if len(c.Kafka.Brokers) == 0 {
		c.Kafka.Brokers = []string{"embedded"}
	}
	if c.Kafka.EmbeddedListen == "" {
		c.Kafka.EmbeddedListen = "127.0.0.1:9092"
	}
	if c.Kafka.ClientID == "" {
		c.Kafka.ClientID = "legacybridge"
	}
	if c.StateDir == "" {
		c.StateDir = "state"
	}
	c.StateDir = c.rel(c.StateDir)
	if c.Kafka.EmbeddedDataDir == "" {
		c.Kafka.EmbeddedDataDir = filepath.Join(c.StateDir, "kafka")
	}
	c.Kafka.EmbeddedDataDir = c.rel(c.Kafka.EmbeddedDataDir)
	if t := c.Kafka.TLS; t != nil {
		t.CAFile, t.CertFile, t.KeyFile = c.rel(t.CAFile), c.rel(t.CertFile), c.rel(t.KeyFile)
	}
	if s := c.Kafka.SASL; s != nil {
		s.PasswordFile = c.rel(s.PasswordFile)
	}
	if c.LogLevel == "" {
		c.LogLevel = "info"
	}
	for i := range c.Flows {
		f := &c.Flows[i]
		remote := f.Source.Local == nil
		if l := f.Source.Local; l != nil {
			l.Dir = c.rel(l.Dir)
			l.SeedFrom = c.rel(l.SeedFrom)
		}
		if s := f.Source.SFTP; s != nil {
			c.sftpPaths(&s.SFTPConn)
		}
		if p := f.Source.FTP; p != nil {
			c.ftpPaths(&p.FTPConn)
		}
		if d := f.Source.Drop(); d != nil {
			if d.Pattern == "" {
				d.Pattern = "*"
			}
			if d.PollInterval == 0 {
				d.PollInterval = Duration(time.Second)
				if remote {
					d.PollInterval = Duration(10 * time.Second)
				}
			}
			if d.MinAge == 0 && remote && d.DoneSuffix == "" {
				d.MinAge = Duration(30 * time.Second)
			}
			if d.Claim == "" && remote {
				// Remote drops move files into processing/ when the account
				// may write there, and fall back to the ledger alone otherwise.
				d.Claim = "auto"
			}
			for _, v := range []*string{&d.Claim, &d.Archive, &d.Quarantine} {
				if *v == "" {
					*v = "move"
				}
			}
			if d.Order == "" {
				d.Order = "name"
			}
		}
		f.Parser.Layout = c.rel(f.Parser.Layout)
		if f.Mapping != "" {
			f.Mappings = append([]string{f.Mapping}, f.Mappings...)
			f.Mapping = ""
		}
		for j := range f.Mappings {
			f.Mappings[j] = c.rel(f.Mappings[j])
		}
		if f.Unmapped == "" {
			f.Unmapped = "generic"
		}
		if f.DuplicateInterchanges.Window == 0 {
			f.DuplicateInterchanges.Window = Duration(720 * time.Hour)
		}
		if f.DuplicateInterchanges.Action == "" {
			f.DuplicateInterchanges.Action = "skip"
		}
	}
}

func (c *Config) deliveryDefaults() {
	for i := range c.Deliveries {
		d := &c.Deliveries[i]
		if d.GroupID == "" {
			d.GroupID = "legacybridge.delivery." + d.Name
		}
		if d.StartFrom == "" {
			d.StartFrom = "earliest"
		}
		d.Spec = c.rel(d.Spec)
		if l := d.Destination.Local; l != nil {
			l.Dir = c.rel(l.Dir)
		}
		if s := d.Destination.SFTP; s != nil {
			c.sftpPaths(s)
		}
		if p := d.Destination.FTP; p != nil {
			c.ftpPaths(p)
		}
	}
}

func (c *Config) sftpPaths(s *SFTPConn) {
	s.PasswordFile, s.PrivateKeyFile = c.rel(s.PasswordFile), c.rel(s.PrivateKeyFile)
	s.KeyPassphraseFile, s.KnownHosts = c.rel(s.KeyPassphraseFile), c.rel(s.KnownHosts)
}

func (c *Config) ftpPaths(p *FTPConn) {
	p.PasswordFile, p.CAFile = c.rel(p.PasswordFile), c.rel(p.CAFile)
	if p.TLS == "" {
		p.TLS = "explicit"
	}
}

// Embedded reports whether the in-process broker is wanted.
func (c *Config) Embedded() bool {
	return len(c.Kafka.Brokers) == 1 && c.Kafka.Brokers[0] == "embedded"
}

var topicName = regexp.MustCompile(`^[A-Za-z0-9._-]{1,249}$`)

var flowName = regexp.MustCompile(`^[A-Za-z0-9][A-Za-z0-9._-]{0,99}$`)

// Validate lists every problem of the config's own shape (files that must
// exist, names, required fields). Layouts and mappings are checked by their
// own packages.
func (c *Config) Validate() error {
	var errs []error
	add := func(format string, a ...any) { errs = append(errs, fmt.Errorf(format, a...)) }
	for _, b := range c.Kafka.Brokers {
		if b == "embedded" {
			if len(c.Kafka.Brokers) > 1 {
				add("kafka.brokers: \"embedded\" cannot be combined with other brokers")
			}
			continue
		}
		if _, port, err := net.SplitHostPort(b); err != nil || port == "" {
			add("kafka.brokers: %q is not host:port (e.g. kafka1:9092)", b)
		}
	}
	if c.Embedded() && (c.Kafka.TLS != nil || c.Kafka.SASL != nil) {
		add("kafka: tls and sasl apply to real brokers, not to the embedded one")
	}
	if s := c.Kafka.SASL; s != nil {
		if !strings.EqualFold(s.Mechanism, "PLAIN") {
			add("kafka.sasl.mechanism %q: only PLAIN is supported", s.Mechanism)
		}
		if s.Username == "" {
			add("kafka.sasl.username is required")
		}
		if _, err := s.Password(); err != nil {
			add("%v", err)
		}
	}
	if t := c.Kafka.TLS; t != nil && (t.CertFile == "") != (t.KeyFile == "") {
		add("kafka.tls: cert_file and key_file go together")
	}
	if c.Embedded() {
		if host, _, err := net.SplitHostPort(c.Kafka.EmbeddedListen); err != nil {
			add("kafka.embedded_listen %q: %v", c.Kafka.EmbeddedListen, err)
		} else if ip := net.ParseIP(host); host != "localhost" && (ip == nil || !ip.IsLoopback()) {
			add("kafka.embedded_listen %q: the embedded broker listens on loopback only (e.g. 127.0.0.1:9092)", c.Kafka.EmbeddedListen)
		}
	}
	switch c.LogLevel {
	case "debug", "info", "warn", "error":
	default:
		add("log_level: %q is not one of debug, info, warn, error", c.LogLevel)
	}
	if len(c.Flows) == 0 && len(c.Deliveries) == 0 && len(c.Captures) == 0 {
		add("flows: none configured (and no deliveries or captures)")
	}
	seen := map[string]bool{}
	dirs := map[string]string{}
	for i, f := range c.Flows {
		where := fmt.Sprintf("flows[%d]", i)
		if f.Name != "" {
			where = fmt.Sprintf("flow %q", f.Name)
		}
		switch {
		case f.Name == "":
			add("%s: name is required", where)
		case !flowName.MatchString(f.Name):
			add("%s: name may use letters, digits, '.', '_' and '-' only", where)
		case seen[f.Name]:
			add("%s: name used twice", where)
		}
		seen[f.Name] = true
		n := 0
		for _, set := range []bool{f.Source.Local != nil, f.Source.SFTP != nil, f.Source.FTP != nil} {
			if set {
				n++
			}
		}
		switch {
		case n == 0:
			add("%s: source is required (source.local, source.sftp or source.ftp)", where)
		case n > 1:
			add("%s: source has more than one transport; a flow reads one drop (use one flow per drop)", where)
		}
		key := "source." + f.Source.Kind()
		var dropID string
		if l := f.Source.Local; l != nil {
			if l.Dir == "" {
				add("%s: source.local.dir is required", where)
			}
			if st, err := os.Stat(l.Dir); err == nil && !st.IsDir() {
				add("%s: source.local.dir %s is a file, not a folder", where, l.Dir)
			}
			if l.SeedFrom != "" {
				if st, err := os.Stat(l.SeedFrom); err != nil || !st.IsDir() {
					add("%s: source.local.seed_from %s is not a folder", where, l.SeedFrom)
				}
			}
			if l.Dir != "" {
				dropID = filepath.Clean(l.Dir)
			}
		}
		if s := f.Source.SFTP; s != nil {
			checkSFTP(where, key, &s.SFTPConn, add)
			dropID = "sftp://" + s.User + "@" + s.Addr + "/" + path.Clean("/"+s.Dir)
		}
		if p := f.Source.FTP; p != nil {
			checkFTP(where, key, &p.FTPConn, add)
			dropID = "ftp://" + p.User + "@" + p.Addr + "/" + path.Clean("/"+p.Dir)
		}
		if d := f.Source.Drop(); d != nil && n == 1 {
			if _, err := filepath.Match(d.Pattern, "x"); err != nil {
				add("%s: %s.pattern %q: %v", where, key, d.Pattern, err)
			}
			if d.PollInterval < 0 || d.MinAge < 0 {
				add("%s: %s poll_interval and min_age must not be negative", where, key)
			}
			if d.MaxFilesPerPoll < 0 {
				add("%s: %s.max_files_per_poll must not be negative", where, key)
			}
			for _, o := range []struct{ key, val, allowed string }{
				{"claim", d.Claim, "move none auto"}, {"archive", d.Archive, "move leave delete"},
				{"quarantine", d.Quarantine, "move leave"}, {"order", d.Order, "name mtime"},
			} {
				if !slices.Contains(strings.Fields(o.allowed), o.val) {
					add("%s: %s.%s %q is not one of %s", where, key, o.key, o.val, strings.ReplaceAll(o.allowed, " ", ", "))
				}
			}
			if d.Claim != "none" && (d.Archive == "leave" || d.Quarantine == "leave") {
				add("%s: %s archive: leave and quarantine: leave need claim: none (with claim: %s the file would stay in processing_dir and be redone at every start)", where, key, d.Claim)
			}
			sub := map[string]string{}
			for _, dd := range []struct{ key, val, def string }{
				{"processing_dir", d.ProcessingDir, "processing"}, {"archive_dir", d.ArchiveDir, "archive"}, {"error_dir", d.ErrorDir, "error"},
			} {
				v := dd.val
				if v == "" {
					v = dd.def
				}
				if filepath.IsAbs(v) || v == "." || strings.HasPrefix(filepath.Clean(v), "..") {
					add("%s: %s.%s %q must be a folder inside the drop folder (a relative path without ..)", where, key, dd.key, v)
				}
				if other, dup := sub[filepath.Clean(v)]; dup {
					add("%s: %s.%s and %s are the same folder %q", where, key, dd.key, other, v)
				}
				sub[filepath.Clean(v)] = dd.key
			}
			if other, dup := dirs[dropID]; dup && dropID != "" {
				add("%s: %s is already the drop folder of flow %q (two flows would race for its files)", where, dropID, other)
			}
			if dropID != "" {
				dirs[dropID] = f.Name
			}
		}
		switch f.Parser.Format {
		case "x12":
			if f.Parser.Layout != "" {
				add("%s: parser.layout is only for fixedwidth", where)
			}
			if f.Parser.Documents {
				add("%s: parser.documents is only for fixedwidth (an X12 transaction set is one record already)", where)
			}
			switch strings.ToLower(f.Parser.Charset) {
			case "", "utf-8", "windows-1252", "iso-8859-1":
			default:
				add("%s: parser.charset %q is not one of utf-8, windows-1252, iso-8859-1", where, f.Parser.Charset)
			}
		case "edifact":
			if f.Parser.Documents {
				add("%s: parser.documents is only for fixedwidth (an EDIFACT message is one record already)", where)
			}
			if f.Parser.Layout != "" || f.Parser.Charset != "" {
				add("%s: parser.layout and parser.charset are not for edifact (each interchange declares its character set in UNB)", where)
			}
		case "fixedwidth":
			if f.Parser.Layout == "" {
				add("%s: parser.layout is required for fixedwidth", where)
			} else if _, err := os.Stat(f.Parser.Layout); err != nil {
				add("%s: parser.layout: %v", where, err)
			}
		case "":
			add("%s: parser.format is required (x12, edifact or fixedwidth)", where)
		default:
			add("%s: parser.format %q is not supported (x12, edifact or fixedwidth)", where, f.Parser.Format)
		}
		if len(f.Mappings) == 0 {
			add("%s: mapping is required", where)
		}
		for _, m := range f.Mappings {
			if _, err := os.Stat(m); err != nil {
				add("%s: mapping: %v", where, err)
			}
		}
		switch f.Unmapped {
		case "generic", "skip", "dead-letter":
		default:
			add("%s: unmapped %q is not one of generic, skip, dead-letter", where, f.Unmapped)
		}
		if f.Topic == "" {
			add("%s: topic is required", where)
		}
		if f.BatchSize < 0 {
			add("%s: batch_size must not be negative", where)
		}
		if f.DuplicateInterchanges.Window < 0 {
			add("%s: duplicate_interchanges: window must not be negative (use action: allow to post re-sent interchanges again)", where)
		}
		if a := f.DuplicateInterchanges.Action; a != "skip" && a != "allow" {
			add("%s: duplicate_interchanges: action %q is not one of skip, allow", where, a)
		}
		if f.DeadLetterTopic == "" {
			add("%s: dead_letter_topic is required", where)
		}
		for _, t := range []struct{ key, name string }{{"topic", f.Topic}, {"dead_letter_topic", f.DeadLetterTopic}} {
			if t.name != "" && !topicName.MatchString(t.name) {
				add("%s: %s %q is not a valid Kafka topic name (letters, digits, '.', '_' and '-', at most 249)", where, t.key, t.name)
			}
		}
		if f.DeadLetterTopic != "" && f.DeadLetterTopic == f.Topic {
			add("%s: dead_letter_topic must differ from topic", where)
		}
	}
	c.validateDeliveries(seen, add)
	c.validateCaptures(seen, add)
	c.validatePartners(add)
	return errors.Join(errs...)
}

func checkSFTP(where, key string, s *SFTPConn, add func(string, ...any)) {
	if s.Addr == "" || s.User == "" {
		add("%s: %s.addr and %s.user are required", where, key, key)
	}
	if s.KnownHosts == "" {
		add("%s: %s.known_hosts is required: the server's host key is always verified (get it with 'ssh-keyscan -p PORT HOST > known_hosts' and check its fingerprint with the partner)", where, key)
	} else if _, err := os.Stat(s.KnownHosts); err != nil {
		add("%s: %s.known_hosts: %v", where, key, err)
	}
	pw, err := Secret(key+".password", s.PasswordEnv, s.PasswordFile)
	if err != nil {
		add("%s: %v", where, err)
	}
	if s.PrivateKeyFile != "" {
		if _, err := os.Stat(s.PrivateKeyFile); err != nil {
			add("%s: %s.private_key_file: %v", where, key, err)
		}
	} else if pw == "" && err == nil {
		if s.PasswordEnv != "" || s.PasswordFile != "" {
			add("%s: %s: the password (%s%s) is empty", where, key, s.PasswordEnv, s.PasswordFile)
		} else {
			add("%s: %s needs private_key_file or password_env/password_file", where, key)
		}
	}
	if _, err := Secret(key+".key_passphrase", s.KeyPassphraseEnv, s.KeyPassphraseFile); err != nil {
		add("%s: %v", where, err)
	}
	if s.Timeout < 0 || s.KeepAlive < 0 {
		add("%s: %s timeout and keepalive must not be negative", where, key)
	}
}

func checkFTP(where, key string, p *FTPConn, add func(string, ...any)) {
	if p.Addr == "" || p.User == "" {
		add("%s: %s.addr and %s.user are required", where, key, key)
	}
	if pw, err := Secret(key+".password", p.PasswordEnv, p.PasswordFile); err != nil {
		add("%s: %v", where, err)
	} else if pw == "" {
		add("%s: %s needs password_env or password_file", where, key)
	}
	switch p.TLS {
	case "explicit", "none":
	default:
		add("%s: %s.tls %q is not one of explicit, none", where, key, p.TLS)
	}
	if p.TLS == "none" && (p.CAFile != "" || p.ServerName != "") {
		add("%s: %s.ca_file and server_name need tls: explicit", where, key)
	}
	if p.CAFile != "" {
		if _, err := os.Stat(p.CAFile); err != nil {
			add("%s: %s.ca_file: %v", where, key, err)
		}
	}
	if p.Timeout < 0 || p.MaxConns < 0 {
		add("%s: %s timeout and max_conns must not be negative", where, key)
	}
}

func (c *Config) validateDeliveries(names map[string]bool, add func(string, ...any)) {
	for i, d := range c.Deliveries {
		where := fmt.Sprintf("deliveries[%d]", i)
		if d.Name != "" {
			where = fmt.Sprintf("delivery %q", d.Name)
		}
		switch {
		case d.Name == "":
			add("%s: name is required", where)
		case !flowName.MatchString(d.Name):
			add("%s: name may use letters, digits, '.', '_' and '-' only", where)
		case names[d.Name]:
			add("%s: name already used by another flow or delivery", where)
		}
		names[d.Name] = true
		if d.Topic == "" {
			add("%s: topic is required (the topic whose events become files)", where)
		}
		for _, t := range []struct{ key, name string }{{"topic", d.Topic}, {"dead_letter_topic", d.DeadLetterTopic}} {
			if t.name != "" && !topicName.MatchString(t.name) {
				add("%s: %s %q is not a valid Kafka topic name", where, t.key, t.name)
			}
		}
		if d.DeadLetterTopic != "" && d.DeadLetterTopic == d.Topic {
			add("%s: dead_letter_topic must differ from topic", where)
		}
		if d.StartFrom != "earliest" && d.StartFrom != "latest" {
			add("%s: start_from %q is not one of earliest, latest", where, d.StartFrom)
		}
		switch d.Format {
		case "json", "edi", "x12-856":
			if d.Spec != "" {
				add("%s: spec is only for format fixedwidth", where)
			}
		case "fixedwidth":
			if d.Spec == "" {
				add("%s: spec is required for format fixedwidth", where)
			} else if _, err := os.Stat(d.Spec); err != nil {
				add("%s: spec: %v", where, err)
			}
		default:
			add("%s: format %q is not one of json, fixedwidth, edi, x12-856", where, d.Format)
		}
		switch {
		case d.Format == "x12-856" && d.X12 == nil:
			add("%s: format x12-856 needs an x12 block (sender_id, receiver_id, ...)", where)
		case d.Format != "x12-856" && d.X12 != nil:
			add("%s: x12 is only for format x12-856", where)
		case d.X12 != nil:
			checkDeliveryX12(where, d.X12, add)
		}
		if d.Format == "x12-856" && strings.Contains(d.NameTemplate, ".ControlNumber") && d.ControlNumberPath == "" && d.ControlNumberExtension == "" {
			add("%s: name_template uses .ControlNumber, which an x12-856 file name cannot be (the ISA13 is given while encoding): use .Subject, .ID or .Time, or set control_number_path", where)
		}
		if d.Concurrency < 0 {
			add("%s: concurrency must not be negative", where)
		}
		if d.ControlNumberPath != "" && d.ControlNumberExtension != "" {
			add("%s: set control_number_path or control_number_extension, not both", where)
		}
		n := 0
		for _, set := range []bool{d.Destination.Local != nil, d.Destination.SFTP != nil, d.Destination.FTP != nil} {
			if set {
				n++
			}
		}
		if n != 1 {
			add("%s: destination needs exactly one of local, sftp, ftp", where)
		}
		key := "destination." + d.Destination.Kind()
		if l := d.Destination.Local; l != nil && l.Dir == "" {
			add("%s: destination.local.dir is required", where)
		}
		if s := d.Destination.SFTP; s != nil {
			checkSFTP(where, key, s, add)
		}
		if p := d.Destination.FTP; p != nil {
			checkFTP(where, key, p, add)
		}
	}
}

var (
	x12Version       = regexp.MustCompile(`^[0-9]{6}[A-Z0-9]{0,6}$`)
	x12StructureCode = regexp.MustCompile(`^[0-9]{4}$`)
)

// checkDeliveryX12 checks a delivery's X12 envelope against the limits of
// the ISA and GS segments.
func checkDeliveryX12(where string, x *DeliveryX12, add func(string, ...any)) {
	for _, f := range []struct {
		key, v   string
		min, max int
		required bool
	}{
		{"sender_id", x.SenderID, 1, 15, true}, {"receiver_id", x.ReceiverID, 1, 15, true},
		{"sender_qualifier", x.SenderQualifier, 1, 2, false}, {"receiver_qualifier", x.ReceiverQualifier, 1, 2, false},
		{"application_sender", x.ApplicationSender, 2, 15, false}, {"application_receiver", x.ApplicationReceiver, 2, 15, false},
	} {
		n := len([]rune(f.v))
		switch {
		case n == 0 && f.required:
			add("%s: x12.%s is required", where, f.key)
		case n == 0:
		case n < f.min || n > f.max || strings.TrimSpace(f.v) != f.v:
			add("%s: x12.%s %q must be %d to %d characters without leading or trailing spaces", where, f.key, f.v, f.min, f.max)
		}
	}
	for _, f := range []struct{ id, app, key string }{{x.SenderID, x.ApplicationSender, "sender"}, {x.ReceiverID, x.ApplicationReceiver, "receiver"}} {
		if len([]rune(f.id)) == 1 && f.app == "" {
			add("%s: x12.%s_id %q is too short for the GS: set application_%s (2 to 15 characters)", where, f.key, f.id, f.key)
		}
	}
	if x.Usage != "" && x.Usage != "P" && x.Usage != "T" {
		add("%s: x12.usage %q is not one of P (production), T (test)", where, x.Usage)
	}
	version := x.Version
	if version == "" {
		version = "004010"
	}
	if !x12Version.MatchString(version) {
		add("%s: x12.version %q is not six digits and an optional suffix (e.g. \"004010\", quoted)", where, x.Version)
	}
	if !slices.Contains([]string{"", "utf-8", "windows-1252", "iso-8859-1"}, strings.ToLower(x.Charset)) {
		add("%s: x12.charset %q is not one of utf-8, windows-1252, iso-8859-1", where, x.Charset)
	}
	if x.StartControlNumber > 999999999 {
		add("%s: x12.start_control_number %d has more than 9 digits", where, x.StartControlNumber)
	}
	if x.StructureCode != "" && !x12StructureCode.MatchString(x.StructureCode) {
		add("%s: x12.structure_code %q is not 4 digits (quote it)", where, x.StructureCode)
	}
	// The delimiters as they will be, defaults included.
	d := x.Delimiters
	if d.Element == "" {
		d.Element = "*"
	}
	if d.Component == "" {
		d.Component = ">"
	}
	if d.Segment == "" {
		d.Segment = "~"
	}
	checkDelimiters(where+": x12", "x12", &d, add)
	for _, f := range []struct{ key, v string }{{"sender_id", x.SenderID}, {"receiver_id", x.ReceiverID},
		{"sender_qualifier", x.SenderQualifier}, {"receiver_qualifier", x.ReceiverQualifier},
		{"application_sender", x.ApplicationSender}, {"application_receiver", x.ApplicationReceiver}} {
		if i := strings.IndexAny(f.v, d.Element+d.Component+d.Repetition+d.Segment+d.Suffix); i >= 0 {
			add("%s: x12.%s %q holds the delimiter %q, which X12 cannot escape", where, f.key, f.v, f.v[i:i+1])
		}
	}
	if d.Repetition != "" && x12Version.MatchString(version) && version < "00402" {
		add("%s: x12.delimiters.repetition needs version 004020 or later (ISA11 is the repetition separator from 00402 on)", where)
	}
}

// Seed copies the files of l.SeedFrom into l.Dir when l.Dir does not exist
// yet. It reports whether it copied.
func (l *Local) Seed() (bool, error) {
	if l.SeedFrom == "" {
		return false, nil
	}
	if _, err := os.Stat(l.Dir); err == nil {
		return false, nil
	}
	ents, err := os.ReadDir(l.SeedFrom)
	if err != nil {
		return false, fmt.Errorf("seed_from: %w", err)
	}
	tmp := l.Dir + ".seeding"
	if err := os.MkdirAll(tmp, 0o755); err != nil {
		return false, err
	}
	for _, e := range ents {
		if !e.Type().IsRegular() {
			continue
		}
		b, err := os.ReadFile(filepath.Join(l.SeedFrom, e.Name()))
		if err != nil {
			return false, err
		}
		if err := os.WriteFile(filepath.Join(tmp, e.Name()), b, 0o644); err != nil {
			return false, err
		}
		old := time.Now().Add(-time.Hour)
		os.Chtimes(filepath.Join(tmp, e.Name()), old, old)
	}
	return true, os.Rename(tmp, l.Dir)
}
