package file

import (
	"bytes"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"math/big"
	"reflect"
	"regexp"
	"slices"
	"strconv"
	"strings"
	"time"
	"unicode/utf8"

	"legacybridge"
	"legacybridge/parsers/x12"
)

// ShipNoticeType is the event type X12ShipNotice writes.
const ShipNoticeType = "com.legacybridge.shipment.notice.v1"

// X12Controls hands out the control numbers of interchanges to one
// partner by key: the same key gets the same numbers every time, a new key
// the partner's next ones. internal/ledger's
// Ledger.Controls(partner, key).X12() is the persisted implementation.
type X12Controls interface {
	ControlNumbers(key string) x12.ControlNumbers
}

// X12Profile is a partner's X12 envelope and syntax. Only SenderID and
// ReceiverID are required.
type X12Profile struct {
	SenderQualifier   string // ISA05, default "ZZ"
	SenderID          string // ISA06, 1 to 15 characters
	ReceiverQualifier string // ISA07, default "ZZ"
	ReceiverID        string // ISA08, 1 to 15 characters
	AppSender         string // GS02, default SenderID
	AppReceiver       string // GS03, default ReceiverID
	// Usage is ISA15: "P" (production, default) or "T" (test).
	Usage string
	// Version is GS08, default "004010"; ISA12 is its first five
	// characters ("00401").
	Version string
	// AckRequested sets ISA14 to 1 (a TA1 is wanted back). Default 0.
	AckRequested bool
	// Delimiters default to element "*", component ">", segment "~" and no
	// repetition separator (one needs Version 004020 or later).
	Delimiters x12.Delimiters
	// Suffix follows every segment terminator: line breaks only, e.g. "\n"
	// or "\r\n". Default "".
	Suffix string
	// StructureCode is BSN05, the hierarchical structure code (e.g.
	// "0001": shipment, order, packaging, item). Default: not sent.
	StructureCode string
}

// X12ShipNotice encodes com.legacybridge.shipment.notice.v1 events as X12
// 856 Ship Notice/Manifest interchanges, one per event: ISA, GS (SH), one
// ST..SE, GE, IEA, written by parsers/x12's Encoder (delimiters, counts and
// trailers). It is safe for concurrent use.
//
// The transaction set is BSN, then an HL hierarchy nested as the event
// is: the shipment (S: TD1, TD5, REF, DTM 011/017, N1/N3/N4 loops), its
// orders (O: PRF), tares (T) and packs (P: PO4, TD1, REF, MAN), and items
// (I: LIN, SN1, PRF, PID); then CTT with the number of HL segments. It is
// what legacy-fixtures/demo/mappings/x12-856-shipment-notice.yaml reads:
// mapping the 856 back gives the event's data, except for
//   - source: it describes the inbound interchange; the 856 has this
//     profile's envelope instead;
//   - carrier.name: an 856 has no carrier name; it is written in TD505
//     (routing) when there is no routing, and reads back as routing;
//   - shipFrom/shipTo not among parties: written as N1 loops ahead of the
//     parties, so they read back in parties too (and the first SF and ST
//     loops read back as shipFrom and shipTo);
//   - address lines after the second: written in a second N3, which the
//     mapping does not read;
//   - issuedAt is written in UTC to the second (BSN03/BSN04), so a time
//     with another offset or with fractions reads back as that instant in
//     UTC without the fractions;
//   - numbers read back normalized (1.50 as 1.5, 1e3 as 1000);
//   - codes without an X12 code in the mapping's lookups go out as they
//     are; normalized codes with several X12 codes get one of them (case
//     as CA, sscc marks as GM for 20 digits and AA otherwise).
//
// Codes: when the event came from X12 (source.standard x12), the codes as
// sent (typeCode, roleCode) are written; otherwise the normalized codes
// (uom each, role ship_to, ...) are turned back into X12 codes with the
// demo mapping's lookups reversed.
//
// An event the 856 cannot hold is an error naming the event field: a
// value longer or shorter than its X12 004010 element allows, a value
// holding one of the partner's delimiters (X12 cannot escape them), a
// weight without a unit, a shipment packaging code without a quantity, an
// item without any part number, an order, tare or pack with nothing in it,
// a quantity that is not a number.
//
// Control numbers come from X12Controls with the event's source and id as
// the key, so a redelivered event is written again with the same numbers
// and the same bytes; they are taken only once every segment is built and
// checked, so a refused event leaves no gap. The envelope date and time
// (ISA09/10, GS04/05) are the event's time (else issuedAt), for the same
// reason. A failing X12Controls is an ErrTemporary error (retried).
type X12ShipNotice struct {
	p        X12Profile
	controls X12Controls
}

var _ TypedEncoder = (*X12ShipNotice)(nil)

var gsVersion = regexp.MustCompile(`^[0-9]{6}[A-Z0-9]{0,6}$`)

// NewX12ShipNotice checks the profile (by writing an envelope with it) and
// returns the encoder.
func NewX12ShipNotice(p X12Profile, controls X12Controls) (*X12ShipNotice, error) {
	fail := func(format string, args ...any) (*X12ShipNotice, error) {
		return nil, fmt.Errorf("x12 856: partner profile: "+format, args...)
	}
	if controls == nil {
		return fail("no control number store (X12Controls)")
	}
	def := func(v *string, d string) {
		if *v == "" {
			*v = d
		}
	}
	def(&p.SenderQualifier, "ZZ")
	def(&p.ReceiverQualifier, "ZZ")
	def(&p.AppSender, p.SenderID)
	def(&p.AppReceiver, p.ReceiverID)
	def(&p.Usage, "P")
	def(&p.Version, "004010")
	def(&p.Delimiters.Element, "*")
	def(&p.Delimiters.Component, ">")
	def(&p.Delimiters.Segment, "~")
	switch {
	case p.SenderID == "" || p.ReceiverID == "":
		return fail("sender id (ISA06) and receiver id (ISA08) are required")
	case p.Usage != "P" && p.Usage != "T":
		return fail("usage (ISA15) %q is not P or T", p.Usage)
	case !gsVersion.MatchString(p.Version):
		return fail("version (GS08) %q is not six digits and an optional suffix, e.g. 004010", p.Version)
	case strings.Trim(p.Suffix, "\r\n") != "":
		return fail("segment suffix %q may hold only line breaks (\\n, \\r\\n)", p.Suffix)
	case p.StructureCode != "" && (len(p.StructureCode) != 4 || !isDigits(p.StructureCode)):
		return fail("structure code (BSN05) %q is not 4 digits", p.StructureCode)
	}
	s := &X12ShipNotice{p: p, controls: controls}
	// The envelope is written with the X12 encoder's own checks (field
	// widths, delimiters, the repetition separator's version) before any
	// control number is taken.
	enc := s.encoder(io.Discard, &x12.Counter{})
	if err := s.envelope(enc, time.Date(2024, 1, 1, 0, 0, 0, 0, time.UTC), nil); err != nil {
		return fail("%v", err)
	}
	for _, f := range []struct{ name, v string }{{"GS02 (application sender)", p.AppSender}, {"GS03 (application receiver)", p.AppReceiver}} {
		if n := len([]rune(f.v)); n < 2 || n > 15 {
			return fail("%s %q must be 2 to 15 characters", f.name, f.v)
		}
	}
	return s, nil
}

// Types is the shipment notice type.
func (s *X12ShipNotice) Types() []string { return []string{ShipNoticeType} }

// Extension is ".edi".
func (s *X12ShipNotice) Extension() string { return ".edi" }

func (s *X12ShipNotice) encoder(w io.Writer, c x12.ControlNumbers) *x12.Encoder {
	enc := x12.NewEncoder(w, s.p.Delimiters)
	enc.Suffix = s.p.Suffix
	enc.Controls = c
	return enc
}

// envelope writes the whole interchange around segs.
func (s *X12ShipNotice) envelope(enc *x12.Encoder, at time.Time, segs []legacybridge.Segment) error {
	at = at.UTC()
	ack := "0"
	if s.p.AckRequested {
		ack = "1"
	}
	enc.BeginInterchange(x12.InterchangeHeader{SenderQualifier: s.p.SenderQualifier, SenderID: s.p.SenderID,
		ReceiverQualifier: s.p.ReceiverQualifier, ReceiverID: s.p.ReceiverID, Date: at.Format("060102"), Time: at.Format("1504"),
		Version: s.p.Version[:5], AckRequested: ack, Usage: s.p.Usage})
	enc.BeginGroup(x12.GroupHeader{FunctionalID: "SH", AppSender: s.p.AppSender, AppReceiver: s.p.AppReceiver,
		Date: at.Format("20060102"), Time: at.Format("1504"), Version: s.p.Version})
	enc.BeginSet("856", "", "")
	for _, seg := range segs {
		enc.WriteSegment(seg)
	}
	enc.EndSet()
	enc.EndGroup()
	enc.EndInterchange()
	return enc.Flush()
}

// Encode writes ev as one 856 interchange.
func (s *X12ShipNotice) Encode(w io.Writer, ev legacybridge.Event) error {
	if ev.Type != ShipNoticeType {
		return fmt.Errorf("x12 856: event type %q is not %s", ev.Type, ShipNoticeType)
	}
	if !isJSON(ev.ContentType) {
		return fmt.Errorf("x12 856: data content type %q is not JSON", ev.ContentType)
	}
	var n asnData
	dec := json.NewDecoder(bytes.NewReader(ev.Data))
	dec.UseNumber()
	if err := dec.Decode(&n); err != nil {
		return fmt.Errorf("x12 856: event data: %v", err)
	}
	b := &asnBuilder{d: s.p.Delimiters, fromX12: n.Source.Standard == "x12", structure: s.p.StructureCode}
	// Every segment is built and checked before a control number is taken:
	// an event that cannot be written leaves no gap in the partner's
	// sequence.
	at, err := b.build(&n)
	if err != nil {
		return fmt.Errorf("x12 856: %w", err)
	}
	if !ev.Time.IsZero() {
		at = ev.Time
	}
	c := temporary{s.controls.ControlNumbers(ev.Source + " " + ev.ID)}
	if err := s.envelope(s.encoder(w, c), at, b.segs); err != nil {
		return fmt.Errorf("x12 856: %w", err)
	}
	return nil
}

// temporary marks errors of the control number store as ErrTemporary.
type temporary struct{ c x12.ControlNumbers }

func (t temporary) Next(level x12.ControlLevel) (uint64, error) {
	n, err := t.c.Next(level)
	if err != nil {
		return 0, fmt.Errorf("%w: %w", ErrTemporary, err)
	}
	return n, nil
}

// The event data, as mappings/schemas/com.legacybridge.shipment.notice.v1.json has it.
type (
	asnData struct {
		ShipmentID            string        `json:"shipmentId"`
		Purpose               string        `json:"purpose"`
		IssuedAt              string        `json:"issuedAt"`
		ShipDate              string        `json:"shipDate"`
		EstimatedDeliveryDate string        `json:"estimatedDeliveryDate"`
		BillOfLading          string        `json:"billOfLading"`
		Carrier               *asnCarrier   `json:"carrier"`
		Packaging             *asnPackaging `json:"packaging"`
		Weight                *asnWeight    `json:"weight"`
		References            []asnRef      `json:"references"`
		ShipFrom              *asnParty     `json:"shipFrom"`
		ShipTo                *asnParty     `json:"shipTo"`
		Parties               []asnParty    `json:"parties"`
		Orders                []asnOrder    `json:"orders"`
		asnContents
		Source struct {
			Standard string `json:"standard"`
		} `json:"source"`
	}
	asnContents struct {
		Tares []asnUnit `json:"tares"`
		Packs []asnUnit `json:"packs"`
		Items []asnItem `json:"items"`
	}
	asnCarrier struct {
		Code            string `json:"code"`
		CodeType        string `json:"codeType"`
		Name            string `json:"name"`
		TransportMethod string `json:"transportMethod"`
		Routing         string `json:"routing"`
	}
	asnPackaging struct {
		Code     string      `json:"code"`
		Quantity json.Number `json:"quantity"`
	}
	asnWeight struct {
		Value     json.Number `json:"value"`
		Unit      string      `json:"unit"`
		Qualifier string      `json:"qualifier"`
	}
	asnRef struct {
		Type        string `json:"type"`
		TypeCode    string `json:"typeCode"`
		Value       string `json:"value"`
		Description string `json:"description"`
	}
	asnParty struct {
		Role     string `json:"role"`
		RoleCode string `json:"roleCode"`
		Name     string `json:"name"`
		ID       string `json:"id"`
		IDType   string `json:"idType"`
		Address  *struct {
			Lines      []string `json:"lines"`
			City       string   `json:"city"`
			Region     string   `json:"region"`
			PostalCode string   `json:"postalCode"`
			Country    string   `json:"country"`
		} `json:"address"`
	}
	asnOrder struct {
		PurchaseOrderNumber string `json:"purchaseOrderNumber"`
		PurchaseOrderDate   string `json:"purchaseOrderDate"`
		ReleaseNumber       string `json:"releaseNumber"`
		asnContents
	}
	asnUnit struct {
		SSCC       string        `json:"sscc"`
		Marks      []asnMark     `json:"marks"`
		Packaging  *asnPackaging `json:"packaging"`
		Weight     *asnWeight    `json:"weight"`
		References []asnRef      `json:"references"`
		Packs      []asnUnit     `json:"packs"` // tares only
		Items      []asnItem     `json:"items"`
	}
	asnMark struct {
		Type     string `json:"type"`
		TypeCode string `json:"typeCode"`
		Value    string `json:"value"`
	}
	asnItem struct {
		LineNumber          string      `json:"lineNumber"`
		BuyerPartNumber     string      `json:"buyerPartNumber"`
		VendorPartNumber    string      `json:"vendorPartNumber"`
		GTIN                string      `json:"gtin"`
		Description         string      `json:"description"`
		QuantityShipped     json.Number `json:"quantityShipped"`
		QuantityOrdered     json.Number `json:"quantityOrdered"`
		UOM                 string      `json:"uom"`
		Lot                 string      `json:"lot"`
		SerialNumber        string      `json:"serialNumber"`
		PurchaseOrderNumber string      `json:"purchaseOrderNumber"`
	}
)

// X12 codes of the normalized codes: the lookups of
// legacy-fixtures/demo/mappings/x12-856-shipment-notice.yaml reversed
// (TestX12CodesReverseTheDemoMapping keeps them so).
var (
	x12Purpose = map[string]string{"original": "00", "cancellation": "01", "replace": "05", "confirmation": "06",
		"duplicate": "07", "advance_notice": "14"}
	x12UOM = map[string]string{"each": "EA", "case": "CA", "carton": "CT", "box": "BX", "package": "PK", "pallet": "PL",
		"piece": "PC", "dozen": "DZ", "foot": "FT", "kilogram": "KG", "pound": "LB", "gallon": "GA"}
	x12WeightQualifier = map[string]string{"shipper_weight": "A3", "gross": "G", "net": "N", "consolidated_weight": "A1"}
	x12CarrierCodeType = map[string]string{"scac": "2", "mutually_defined": "ZZ"}
	x12TransportMethod = map[string]string{"air": "A", "consolidation": "C", "parcel_post": "D", "expedited_truck": "E",
		"customer_pickup": "H", "contract_carrier": "L", "motor": "M", "private_carrier": "P", "rail": "R", "parcel": "U", "intermodal": "X"}
	x12PartyRole = map[string]string{"ship_from": "SF", "shipper": "SH", "ship_to": "ST", "buyer": "BY", "ordered_by": "OB",
		"supplier": "SU", "vendor": "VN", "bill_to": "BT", "manufacturer": "MF"}
	x12IDType = map[string]string{"duns": "1", "duns_plus4": "9", "assigned_by_seller": "91", "assigned_by_buyer": "92",
		"gln": "UL", "mutually_defined": "ZZ"}
	x12MarkType = map[string]string{"sscc": "GM", "upc_shipping_container": "UC", "carrier_package_id": "CP",
		"shipper_case_number": "CA", "master_carton_number": "MC", "pallet_number": "W", "skid_number": "SS",
		"shipper_assigned": "SM", "rfid_tag": "SI", "mutually_defined": "ZZ"}
	x12ReferenceType = map[string]string{"bill_of_lading": "BM", "carrier_reference": "CN", "packing_list": "PK",
		"purchase_order": "PO", "vendor_id": "IA", "lot": "LT", "serial_number": "SE", "vendor_order": "VN"}
)

// elemSpec is an X12 004010 element's type and length.
type elemSpec struct {
	kind     string // AN, ID, DT, TM, R, N0
	min, max int
}

var x12Specs = map[string]elemSpec{
	"BSN01": {"ID", 2, 2}, "BSN02": {"AN", 2, 30}, "BSN03": {"DT", 8, 8}, "BSN04": {"TM", 4, 8}, "BSN05": {"ID", 4, 4},
	"HL01": {"AN", 1, 12}, "HL02": {"AN", 1, 12}, "HL03": {"ID", 1, 2}, "HL04": {"ID", 1, 1},
	"LIN01": {"AN", 1, 20},
	"SN102": {"R", 1, 10}, "SN103": {"ID", 2, 2}, "SN105": {"R", 1, 9}, "SN106": {"ID", 2, 2},
	"PRF01": {"AN", 1, 22}, "PRF02": {"AN", 1, 30}, "PRF04": {"DT", 8, 8},
	"PO404": {"AN", 3, 5},
	"PID01": {"ID", 1, 1}, "PID05": {"AN", 1, 80},
	"TD101": {"AN", 3, 5}, "TD102": {"N0", 1, 7}, "TD106": {"ID", 1, 2}, "TD107": {"R", 1, 10}, "TD108": {"ID", 2, 2},
	"TD501": {"ID", 1, 2}, "TD502": {"ID", 1, 2}, "TD503": {"AN", 2, 80}, "TD504": {"ID", 1, 2}, "TD505": {"AN", 1, 35},
	"REF01": {"ID", 2, 3}, "REF02": {"AN", 1, 30}, "REF03": {"AN", 1, 80},
	"MAN01": {"ID", 1, 2}, "MAN02": {"AN", 1, 48},
	"DTM01": {"ID", 3, 3}, "DTM02": {"DT", 8, 8},
	"N101": {"ID", 2, 3}, "N102": {"AN", 1, 60}, "N103": {"ID", 1, 2}, "N104": {"AN", 2, 80},
	"N301": {"AN", 1, 55}, "N302": {"AN", 1, 55},
	"N401": {"AN", 2, 30}, "N402": {"ID", 2, 2}, "N403": {"ID", 3, 15}, "N404": {"ID", 2, 3},
	"CTT01": {"N0", 1, 6},
}

type elemKey struct {
	tag string
	pos int
}

// elemSpecs is x12Specs by segment tag and position.
var elemSpecs = func() map[elemKey]elemSpec {
	m := make(map[elemKey]elemSpec, len(x12Specs))
	for name, spec := range x12Specs {
		pos, _ := strconv.Atoi(name[len(name)-2:])
		m[elemKey{name[:len(name)-2], pos}] = spec
	}
	return m
}()

// specOf returns the spec of element pos (1-based) of tag. LIN elements
// after LIN01 are pairs: qualifiers (ID 2/2) at even positions, ids (AN
// 1/48) at odd ones.
func specOf(tag string, pos int) (elemSpec, bool) {
	if tag == "LIN" && pos > 1 {
		if pos%2 == 0 {
			return elemSpec{"ID", 2, 2}, true
		}
		return elemSpec{"AN", 1, 48}, true
	}
	spec, ok := elemSpecs[elemKey{tag, pos}]
	return spec, ok
}

// fv is an element value and the event field it comes from ("" for the
// encoder's own values).
type fv struct{ v, from string }

// asnBuilder builds the segments between ST and SE.
type asnBuilder struct {
	d         x12.Delimiters
	fromX12   bool
	structure string // BSN05
	segs      []legacybridge.Segment
	hls       int
	err       error
}

// seg adds a segment after checking its values; trailing empty elements
// are dropped.
func (b *asnBuilder) seg(tag string, vals ...fv) {
	if b.err != nil {
		return
	}
	for len(vals) > 0 && vals[len(vals)-1].v == "" {
		vals = vals[:len(vals)-1]
	}
	// One value per element: the segment's elements, repetitions and
	// components share three allocations.
	elems := make([]legacybridge.Element, len(vals))
	reps := make([][]string, len(vals))
	comps := make([]string, len(vals))
	for i, v := range vals {
		comps[i] = v.v
		reps[i] = comps[i : i+1 : i+1]
		elems[i] = reps[i : i+1 : i+1]
		if v.v == "" {
			continue
		}
		spec, ok := specOf(tag, i+1)
		if !ok {
			b.err = fmt.Errorf("internal: no spec for %s%02d", tag, i+1)
			return
		}
		if err := b.check(tag, i+1, spec, v); err != nil {
			b.err = err
			return
		}
	}
	b.segs = append(b.segs, legacybridge.Segment{Tag: tag, Elements: elems})
}

func (b *asnBuilder) check(tag string, pos int, spec elemSpec, v fv) error {
	what := func() (string, string) {
		name := fmt.Sprintf("%s%02d", tag, pos)
		if v.from == "" {
			return "value " + strconv.Quote(v.v), name
		}
		return v.from + " " + strconv.Quote(v.v), name
	}
	if bad := delimiterIn(v.v, b.d); bad != "" {
		what, name := what()
		return fmt.Errorf("%s (%s) holds the %s, which X12 cannot escape: clean the data or give the partner other delimiters", what, name, bad)
	}
	n := utf8.RuneCountInString(v.v)
	switch spec.kind {
	case "R", "N0":
		n -= strings.Count(v.v, ".") + strings.Count(v.v, "-") // digits only
	case "DT", "TM":
		if !isDigits(v.v) {
			what, name := what()
			return fmt.Errorf("%s (%s) is not a date or time in digits", what, name)
		}
	}
	if n < spec.min || n > spec.max {
		what, name := what()
		size := fmt.Sprintf("%d to %d", spec.min, spec.max)
		if spec.min == spec.max {
			size = strconv.Itoa(spec.min)
		}
		unit := "characters"
		if spec.kind == "R" || spec.kind == "N0" {
			unit = "digits"
		}
		return fmt.Errorf("%s is %d %s long; %s (%s) takes %s", what, n, unit, name, spec.kind, size)
	}
	return nil
}

func delimiterIn(v string, d x12.Delimiters) string {
	for _, x := range []struct{ name, c string }{{"element separator", d.Element}, {"component separator", d.Component},
		{"repetition separator", d.Repetition}, {"segment terminator", d.Segment}, {"line break", "\r"}, {"line break", "\n"}} {
		if x.c != "" && strings.Contains(v, x.c) {
			return x.name + " " + strconv.Quote(x.c)
		}
	}
	return ""
}

func isDigits(s string) bool {
	for i := 0; i < len(s); i++ {
		if s[i] < '0' || s[i] > '9' {
			return false
		}
	}
	return s != ""
}

// code returns the X12 code of a normalized code: the code as sent when
// the event came from X12, else the reversed lookup, else the value as it
// is (a code the mapping kept).
func (b *asnBuilder) code(normalized, sent string, table map[string]string) string {
	normalized, sent = strings.TrimSpace(normalized), strings.TrimSpace(sent)
	if b.fromX12 && sent != "" {
		return sent
	}
	if c, ok := table[normalized]; ok {
		return c
	}
	if normalized == "" {
		return sent
	}
	return normalized
}

// number turns a JSON number into an X12 decimal: no exponent, no
// trailing fractional zeros. integer requires a whole number.
func number(n json.Number, from string, integer bool) (fv, error) {
	s := strings.TrimSpace(string(n))
	if s == "" {
		return fv{"", from}, nil
	}
	// An exponent beyond any X12 number's reach is refused before big.Rat
	// expands it.
	if i := strings.IndexAny(s, "eE"); i >= 0 {
		if e, err := strconv.Atoi(strings.TrimPrefix(s[i+1:], "+")); err != nil || e > 30 || e < -30 {
			return fv{}, fmt.Errorf("%s %s is out of the range X12 numbers can hold", from, s)
		}
	}
	r, ok := new(big.Rat).SetString(s)
	if !ok {
		return fv{}, fmt.Errorf("%s %q is not a number", from, s)
	}
	if integer && !r.IsInt() {
		return fv{}, fmt.Errorf("%s %s is not a whole number", from, s)
	}
	// The fewest decimals that show the number exactly (it came from a
	// decimal literal, so some power of ten makes it whole).
	prec := 0
	ten := big.NewRat(10, 1)
	for x := new(big.Rat).Set(r); !x.IsInt(); x.Mul(x, ten) {
		if prec++; prec > 30 {
			return fv{}, fmt.Errorf("%s %s has more than 30 decimals", from, s)
		}
	}
	return fv{r.FloatString(prec), from}, nil
}

func date(s, from string) (fv, error) {
	s = strings.TrimSpace(s)
	if s == "" {
		return fv{"", from}, nil
	}
	t, err := time.Parse(time.DateOnly, s)
	if err != nil {
		return fv{}, fmt.Errorf("%s %q is not a date (YYYY-MM-DD)", from, s)
	}
	return fv{t.Format("20060102"), from}, nil
}

func str(s, from string) fv { return fv{strings.TrimSpace(s), from} }

// build makes the segments of n; it returns when the notice was issued.
func (b *asnBuilder) build(n *asnData) (time.Time, error) {
	var issued time.Time
	if strings.TrimSpace(n.ShipmentID) == "" {
		return issued, errors.New("shipmentId is missing (BSN02)")
	}
	issued, err := time.Parse(time.RFC3339Nano, strings.TrimSpace(n.IssuedAt))
	if err != nil {
		return issued, fmt.Errorf("issuedAt %q is not an RFC 3339 date and time (BSN03/BSN04)", n.IssuedAt)
	}
	issued = issued.UTC().Truncate(time.Second)
	hhmm := issued.Format("1504")
	if issued.Second() != 0 {
		hhmm = issued.Format("150405")
	}
	purpose := b.code(n.Purpose, "", x12Purpose)
	if purpose == "" {
		purpose = "00" // original
	}
	b.seg("BSN", fv{purpose, "purpose"}, str(n.ShipmentID, "shipmentId"), fv{issued.Format("20060102"), "issuedAt"},
		fv{hhmm, "issuedAt"}, fv{b.structure, ""})
	if len(n.Orders) == 0 && len(n.Tares) == 0 && len(n.Packs) == 0 && len(n.Items) == 0 {
		return issued, errors.New("the notice ships nothing: no orders, tares, packs or items")
	}

	// The shipment.
	b.hl(0, "S", true)
	if p := n.Packaging; p != nil && strings.TrimSpace(p.Code) != "" && strings.TrimSpace(string(p.Quantity)) == "" {
		return issued, errors.New("packaging.code needs packaging.quantity (TD101 needs TD102)")
	}
	if err := b.td1(n.Packaging, n.Weight, ""); err != nil {
		return issued, err
	}
	if c := n.Carrier; c != nil {
		routing := str(c.Routing, "carrier.routing")
		if routing.v == "" {
			routing = str(c.Name, "carrier.name")
		}
		typ := fv{b.code(c.CodeType, "", x12CarrierCodeType), "carrier.codeType"}
		method := fv{b.code(c.TransportMethod, "", x12TransportMethod), "carrier.transportMethod"}
		code := str(c.Code, "carrier.code")
		if typ.v != "" || code.v != "" || method.v != "" || routing.v != "" {
			if typ.v != "" && code.v == "" {
				return issued, errors.New("carrier.codeType needs carrier.code (TD502 needs TD503)")
			}
			b.seg("TD5", fv{"B", ""}, typ, code, method, routing)
		}
	}
	refs := n.References
	if bol := strings.TrimSpace(n.BillOfLading); bol != "" {
		found := false
		for _, r := range refs {
			if b.code(r.Type, r.TypeCode, x12ReferenceType) == "BM" && strings.TrimSpace(r.Value) == bol {
				found = true
			}
		}
		if !found {
			b.seg("REF", fv{"BM", ""}, fv{bol, "billOfLading"})
		}
	}
	b.refs(refs, "references")
	for _, d := range []struct{ qual, v, from string }{{"011", n.ShipDate, "shipDate"}, {"017", n.EstimatedDeliveryDate, "estimatedDeliveryDate"}} {
		dt, err := date(d.v, d.from)
		if err != nil {
			return issued, err
		}
		if dt.v != "" {
			b.seg("DTM", fv{d.qual, ""}, dt)
		}
	}
	// N1 loops: the parties, after shipFrom and shipTo when they are not
	// among them (the mapping takes the first SF and ST loop for those).
	type named struct {
		p    asnParty
		from string
	}
	var loops []named
	for _, x := range []struct {
		p    *asnParty
		from string
	}{{n.ShipFrom, "shipFrom"}, {n.ShipTo, "shipTo"}} {
		if x.p == nil || slices.ContainsFunc(n.Parties, func(q asnParty) bool { return reflect.DeepEqual(*x.p, q) }) {
			continue
		}
		loops = append(loops, named{*x.p, x.from})
	}
	for i, p := range n.Parties {
		loops = append(loops, named{p, fmt.Sprintf("parties[%d]", i)})
	}
	for _, l := range loops {
		if err := b.party(l.p, l.from); err != nil {
			return issued, err
		}
	}

	// What it ships.
	for i, o := range n.Orders {
		from := fmt.Sprintf("orders[%d]", i)
		po := str(o.PurchaseOrderNumber, from+".purchaseOrderNumber")
		if po.v == "" {
			return issued, fmt.Errorf("%s has no purchaseOrderNumber (PRF01)", from)
		}
		dt, err := date(o.PurchaseOrderDate, from+".purchaseOrderDate")
		if err != nil {
			return issued, err
		}
		if !o.has() {
			return issued, fmt.Errorf("%s ships nothing: no tares, packs or items", from)
		}
		id := b.hl(1, "O", true)
		b.seg("PRF", po, str(o.ReleaseNumber, from+".releaseNumber"), fv{}, dt)
		if err := b.contents(id, o.asnContents, from+"."); err != nil {
			return issued, err
		}
	}
	if err := b.contents(1, n.asnContents, ""); err != nil {
		return issued, err
	}
	if b.err != nil {
		return issued, b.err
	}
	b.seg("CTT", fv{strconv.Itoa(b.hls), ""})
	return issued, b.err
}

func (c asnContents) has() bool { return len(c.Tares)+len(c.Packs)+len(c.Items) > 0 }

// hl adds an HL below parent (0: none) and returns its id.
func (b *asnBuilder) hl(parent int, level string, children bool) int {
	b.hls++
	p, kids := "", "0"
	if parent > 0 {
		p = strconv.Itoa(parent)
	}
	if children {
		kids = "1"
	}
	b.seg("HL", fv{strconv.Itoa(b.hls), ""}, fv{p, ""}, fv{level, ""}, fv{kids, ""})
	return b.hls
}

func (b *asnBuilder) contents(parent int, c asnContents, at string) error {
	for i, t := range c.Tares {
		if err := b.unit(parent, "T", t, fmt.Sprintf("%stares[%d]", at, i)); err != nil {
			return err
		}
	}
	for i, p := range c.Packs {
		if err := b.unit(parent, "P", p, fmt.Sprintf("%spacks[%d]", at, i)); err != nil {
			return err
		}
	}
	for i, it := range c.Items {
		if err := b.item(parent, it, fmt.Sprintf("%sitems[%d]", at, i)); err != nil {
			return err
		}
	}
	return b.err
}

// unit adds a tare (T) or pack (P) loop and what it holds.
func (b *asnBuilder) unit(parent int, level string, u asnUnit, from string) error {
	if level == "P" && len(u.Packs) > 0 {
		return fmt.Errorf("%s holds packs; only tares hold packs", from)
	}
	id := b.hl(parent, level, len(u.Packs)+len(u.Items) > 0)
	pk := u.Packaging
	if pk != nil && strings.TrimSpace(pk.Code) != "" && strings.TrimSpace(string(pk.Quantity)) == "" {
		// A code alone goes in PO4 (TD101 would need TD102).
		b.seg("PO4", fv{}, fv{}, fv{}, str(pk.Code, from+".packaging.code"))
		pk = nil
	}
	if err := b.td1(pk, u.Weight, from+"."); err != nil {
		return err
	}
	b.refs(u.References, from+".references")
	sscc := strings.TrimSpace(u.SSCC)
	marks := u.Marks
	for _, m := range marks {
		if strings.TrimSpace(m.Value) == sscc {
			sscc = ""
		}
	}
	if sscc != "" {
		marks = append([]asnMark{{Type: "sscc", Value: sscc}}, marks...)
	}
	for i, m := range marks {
		mf := fmt.Sprintf("%s.marks[%d]", from, i)
		if sscc != "" {
			mf = fmt.Sprintf("%s.marks[%d]", from, i-1)
			if i == 0 {
				mf = from + ".sscc"
			}
		}
		code := b.code(m.Type, m.TypeCode, x12MarkType)
		if code == "GM" && (!b.fromX12 || m.TypeCode == "") && len(strings.TrimSpace(m.Value)) != 20 {
			code = "AA" // SSCC-18 without its (00) application identifier
		}
		if code == "" {
			return fmt.Errorf("%s has no type", mf)
		}
		b.seg("MAN", fv{code, mf + ".type"}, str(m.Value, mf+".value"))
	}
	if b.segs[len(b.segs)-1].Tag == "HL" && len(u.Packs)+len(u.Items) == 0 {
		return fmt.Errorf("%s is empty: no label, packaging, weight, reference, packs or items", from)
	}
	for i, p := range u.Packs {
		if err := b.unit(id, "P", p, fmt.Sprintf("%s.packs[%d]", from, i)); err != nil {
			return err
		}
	}
	for i, it := range u.Items {
		if err := b.item(id, it, fmt.Sprintf("%s.items[%d]", from, i)); err != nil {
			return err
		}
	}
	return b.err
}

// td1 adds a TD1 with packaging and weight, if there is any.
func (b *asnBuilder) td1(p *asnPackaging, w *asnWeight, at string) error {
	var code, qty, qual, val, unit fv
	var err error
	if p != nil {
		code = str(p.Code, at+"packaging.code")
		if qty, err = number(p.Quantity, at+"packaging.quantity", true); err != nil {
			return err
		}
	}
	if w != nil {
		if val, err = number(w.Value, at+"weight.value", false); err != nil {
			return err
		}
		unit = fv{b.code(w.Unit, "", x12UOM), at + "weight.unit"}
		qual = fv{b.code(w.Qualifier, "", x12WeightQualifier), at + "weight.qualifier"}
		if (val.v == "") != (unit.v == "") {
			return fmt.Errorf("%sweight needs both value and unit (TD107 and TD108 go together)", at)
		}
		if qual.v != "" && val.v == "" {
			return fmt.Errorf("%sweight.qualifier needs weight.value (TD106 needs TD107)", at)
		}
	}
	if code.v != "" || qty.v != "" || val.v != "" {
		b.seg("TD1", code, qty, fv{}, fv{}, fv{}, qual, val, unit)
	}
	return b.err
}

func (b *asnBuilder) refs(refs []asnRef, at string) {
	for i, r := range refs {
		from := fmt.Sprintf("%s[%d]", at, i)
		code := b.code(r.Type, r.TypeCode, x12ReferenceType)
		if code == "" && b.err == nil {
			b.err = fmt.Errorf("%s has no type", from)
		}
		val, desc := str(r.Value, from+".value"), str(r.Description, from+".description")
		if val.v == "" && desc.v == "" && b.err == nil {
			b.err = fmt.Errorf("%s has no value (REF02)", from)
		}
		b.seg("REF", fv{code, from + ".type"}, val, desc)
	}
}

func (b *asnBuilder) party(p asnParty, from string) error {
	role := b.code(p.Role, p.RoleCode, x12PartyRole)
	if role == "" {
		return fmt.Errorf("%s has no role (N101)", from)
	}
	name, id := str(p.Name, from+".name"), str(p.ID, from+".id")
	idType := fv{b.code(p.IDType, "", x12IDType), from + ".idType"}
	if name.v == "" && id.v == "" {
		return fmt.Errorf("%s has neither name nor id (N102 or N103/N104)", from)
	}
	if id.v != "" && idType.v == "" {
		idType.v = "ZZ" // mutually defined
	}
	if id.v == "" {
		idType.v = ""
	}
	b.seg("N1", fv{role, from + ".role"}, name, idType, id)
	if a := p.Address; a != nil {
		var lines []string
		for _, l := range a.Lines {
			if l = strings.TrimSpace(l); l != "" {
				lines = append(lines, l)
			}
		}
		for i := 0; i < len(lines); i += 2 {
			l2 := fv{}
			if i+1 < len(lines) {
				l2 = fv{lines[i+1], fmt.Sprintf("%s.address.lines[%d]", from, i+1)}
			}
			b.seg("N3", fv{lines[i], fmt.Sprintf("%s.address.lines[%d]", from, i)}, l2)
		}
		city, region := str(a.City, from+".address.city"), str(a.Region, from+".address.region")
		postal, country := str(a.PostalCode, from+".address.postalCode"), str(a.Country, from+".address.country")
		if city.v != "" || region.v != "" || postal.v != "" || country.v != "" {
			b.seg("N4", city, region, postal, country)
		}
	}
	return b.err
}

func (b *asnBuilder) item(parent int, it asnItem, from string) error {
	b.hl(parent, "I", false)
	pairs := []fv{str(it.LineNumber, from+".lineNumber")}
	ids := 0
	add := func(qual, v, field string) {
		if v = strings.TrimSpace(v); v != "" {
			pairs = append(pairs, fv{qual, ""}, fv{v, from + "." + field})
			if field != "lot" && field != "serialNumber" {
				ids++
			}
		}
	}
	add("BP", it.BuyerPartNumber, "buyerPartNumber")
	add("VP", it.VendorPartNumber, "vendorPartNumber")
	gtin := strings.TrimSpace(it.GTIN)
	switch len(gtin) {
	case 12:
		add("UP", gtin, "gtin") // UPC-A
	case 14:
		add("UK", gtin, "gtin") // GTIN-14
	default:
		add("EN", gtin, "gtin") // EAN-13 (and EAN-8)
	}
	add("LT", it.Lot, "lot")
	add("SN", it.SerialNumber, "serialNumber")
	if ids == 0 {
		return fmt.Errorf("%s has no buyerPartNumber, vendorPartNumber or gtin (LIN needs one)", from)
	}
	b.seg("LIN", pairs...)
	shipped, err := number(it.QuantityShipped, from+".quantityShipped", false)
	if err != nil {
		return err
	}
	ordered, err := number(it.QuantityOrdered, from+".quantityOrdered", false)
	if err != nil {
		return err
	}
	uom := fv{b.code(it.UOM, "", x12UOM), from + ".uom"}
	if shipped.v == "" || uom.v == "" {
		return fmt.Errorf("%s needs quantityShipped and uom (SN102, SN103)", from)
	}
	orderedUOM := fv{}
	if ordered.v != "" {
		orderedUOM = uom
	}
	b.seg("SN1", fv{}, shipped, uom, fv{}, ordered, orderedUOM)
	if po := str(it.PurchaseOrderNumber, from+".purchaseOrderNumber"); po.v != "" {
		b.seg("PRF", po)
	}
	if d := str(it.Description, from+".description"); d.v != "" {
		b.seg("PID", fv{"F", ""}, fv{}, fv{}, fv{}, d)
	}
	return b.err
}
