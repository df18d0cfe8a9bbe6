// Package edirules checks X12 transaction sets and EDIFACT messages against
// transaction-set rules kept as data: which segments are required and how
// often they may occur, and per data element whether it is required, its
// type, its length and its code list. The violations come with the codes
// both standards' acknowledgements use, and X12Check and EDIFACTCheck plug
// them into x12.Acknowledge (AK3/AK4, IK3/IK4) and edifact.Acknowledge
// (UCS/UCD).
//
// # Shipped rules
//
// Default holds rules for the sets legacybridge ships mappings for, in this
// package's folder: rules/x12/850.yaml, 855.yaml, 856.yaml and 810.yaml
// (release 004010: GS08 matching "004010*") and rules/edifact/ORDERS.yaml,
// DESADV.yaml and INVOIC.yaml (directories D.96A to D.01B), with the code
// lists they share in codelists.yaml of each folder. They are conservative:
// what the standard requires of every such document, never an
// implementation guide's narrower choices, and they accept every valid
// file of the shared corpus and the demo fixtures (TestShippedRulesAccept
// proves it). A partner's guide is a rule file of its own loaded over them.
//
// # API
//
//	func New() *Rules                            // no rule sets
//	func Default() *Rules                        // the shipped rule sets (a new value per call)
//	func Load(path string) (*Rules, error)       // Default plus one rule file
//	func LoadDir(dir string) (*Rules, error)     // Default plus every *.yaml, *.yml in dir
//	func (r *Rules) Load(path string) error      // add a file; r unchanged on error
//	func (r *Rules) LoadDir(dir string) error    // add a folder's files as one batch
//	func (r *Rules) Add(name string, data []byte) error
//	func (r *Rules) Sets() []string              // what is loaded, for logs
//	func (r *Rules) Check(rec legacybridge.Record) []Violation
//	func (r *Rules) X12Check() func(legacybridge.Record) []x12.SegmentError         // for x12.AckOptions.Check
//	func (r *Rules) EDIFACTCheck() func(legacybridge.Record) []edifact.SegmentError // for edifact.AckOptions.Check
//	func X12Errors(vs []Violation) []x12.SegmentError
//	func EDIFACTErrors(vs []Violation) []edifact.SegmentError
//
// A set applies to a record of its standard (Record.Format), set id
// (Record.Type: X12 ST01, EDIFACT message type) and version
// (Record.Envelope["version"]: X12 GS08, EDIFACT "D:96A:UN"); a record no
// set applies to has no violations. A file loaded later overrides an
// earlier set for the same versions and is tried first otherwise, so a
// partner file for "850" with no versions replaces the shipped 850 rules
// for every version. Once loaded, Rules is safe for concurrent Check.
//
// Typical use, acknowledging with the rules:
//
//	rules, err := edirules.LoadDir("/etc/legacybridge/rules") // or edirules.Default()
//	...
//	ack, err := x12.Acknowledge(r, name, x12.AckOptions{ControlNumber: n, Check: rules.X12Check()})
//
// # Rule files
//
// A rule file is YAML, one set per file (or only code lists):
//
//	standard: x12                  # x12 or edifact
//	set: "850"                     # X12 ST01 or EDIFACT message type
//	versions: ["004010*"]          # path.Match patterns of the version; none: every version
//	closed: false                  # true: a segment the file does not name is unexpected
//	sections:                      # optional: where counts are taken
//	  - name: heading              # the first section starts with ST/UNH
//	  - name: detail
//	    start: [PO1]               # starts at the first of these tags after the previous section
//	  - name: summary
//	    start: [CTT]
//	segments:
//	  - tag: BEG
//	    section: heading           # optional: count (and check) only occurrences in that section
//	    min: 1                     # required: at least 1 (default 0)
//	    max: 1                     # at most 1 (default 0: no limit)
//	    elements:
//	      - pos: 2                 # element position (BEG02)
//	        comp: 0                # component (1-based) of a composite; 0: the element
//	        ref: "92"              # data element number, written in AK402
//	        name: Purchase Order Type Code
//	        required: true         # a component is required only in a composite that is present
//	        type: ID               # X12: AN ID N0..N9 R DT TM; EDIFACT: a an n
//	        min: 2                 # length (numbers: digits, sign and decimal mark not counted)
//	        max: 2
//	        codes: [SA, NE]        # or codelist: "92", a list under codelists in any file
//	codelists:
//	  "92": [SA, NE, ...]
//
// Sections move forward only: a segment whose tag starts a later section
// moves there, and stays there. A missing segment is reported where it was
// found missing: at the first segment past its section, else the trailer.
//
// # Codes
//
// Violation.X12Segment is data element 720 (AK304, IK304): 2 unexpected
// (closed sets), 3 mandatory segment missing, 5 exceeds maximum use, 8 has
// data element errors; X12Element is 723 (AK403, IK403): 1 mandatory
// missing, 4 too short, 5 too long, 6 invalid character (numbers), 7 invalid
// code value, 8 invalid date, 9 invalid time. Violation.EDIFACT is 0085:
// 13 missing, 15 not supported in this position (unexpected), 35 too many
// segment repetitions, 12 invalid value (codes, dates), 37 invalid type of
// characters, 39 too long, 40 too short.
package edirules
