package ledger

import (
	"encoding/binary"
	"encoding/json"
	"errors"
	"fmt"
	"sync"
	"time"

	bolt "go.etcd.io/bbolt"

	"legacybridge/parsers/edifact"
	"legacybridge/parsers/x12"
)

// A Sequence is one run of control numbers a partner receives: an
// envelope level of one standard.
type Sequence string

// The sequences. X12 and EDIFACT numbers of one partner count apart.
const (
	X12Interchange     Sequence = "x12.isa13"    // ISA13 / IEA02
	X12Group           Sequence = "x12.gs06"     // GS06 / GE02
	X12Set             Sequence = "x12.st02"     // ST02 / SE02
	EDIFACTInterchange Sequence = "edifact.0020" // UNB 0020 / UNZ 0020
	EDIFACTGroup       Sequence = "edifact.0048" // UNG 0048 / UNE 0048
	EDIFACTMessage     Sequence = "edifact.0062" // UNH 0062 / UNT 0062
)

// Max is the highest number of the sequence: 999999999 for X12 (nine
// digits), 99999999999999 for EDIFACT (14 characters); after it the
// sequence goes on at 1. An unknown sequence has 0.
func (s Sequence) Max() uint64 {
	switch s {
	case X12Interchange, X12Group, X12Set:
		return 999999999
	case EDIFACTInterchange, EDIFACTGroup, EDIFACTMessage:
		return 99999999999999
	}
	return 0
}

// X12Partner is the partner name under which Controls count the control
// numbers of X12 interchanges from sender to receiver (ISA05:ISA06 to
// ISA07:ISA08, ids without their padding): ISA13 must be unique per pair,
// so every outbound X12 flow between the same two parties (ship notices,
// acknowledgements, ...) should count under this one name.
func X12Partner(senderQualifier, senderID, receiverQualifier, receiverID string) string {
	return "x12 " + senderQualifier + ":" + senderID + "→" + receiverQualifier + ":" + receiverID
}

// EDIFACTPartner is X12Partner for EDIFACT interchanges (UNB S002 sender
// and qualifier to S003 recipient and qualifier).
func EDIFACTPartner(senderQualifier, sender, recipientQualifier, recipient string) string {
	return "edifact " + senderQualifier + ":" + sender + "→" + recipientQualifier + ":" + recipient
}

// controlsBucket holds, per partner, the last number of each sequence
// ("last": sequence → 8 bytes big-endian) and the numbers given to each
// key ("keys": key → keyRecord as JSON).
var controlsBucket = []byte("controls")

var (
	lastBucket = []byte("last")
	keysBucket = []byte("keys")
)

// keyRecord is what a key was given.
type keyRecord struct {
	At      time.Time             `json:"at"` // when its first number was given
	Numbers map[Sequence][]uint64 `json:"numbers"`
}

// Controls hands out persisted control numbers of one partner for one
// key. Get one with Ledger.Controls; give its X12 or EDIFACT view to an
// x12.Encoder (Controls) or edifact.Encoder (Controls).
//
// Numbers go up by one per partner and sequence, across runs (the ledger
// keeps the last one), and wrap from the sequence's Max to 1. They are
// stable per key: the n-th number a Controls asks for in a sequence is
// the n-th number any Controls of the same partner and key has asked for
// in that sequence, today or after a restart, until PruneControls forgets
// the key. So encoding the same thing again under the same key (a
// redelivered event: key = its id; a re-processed file: key = flow and
// content hash) gives the same control numbers and the same bytes, and
// the partner's sequence has no gaps or duplicates from retries.
//
// Use a new Controls for each interchange (each encoding of one thing);
// one Controls is safe for concurrent use but its count of numbers asked
// grows with each call.
type Controls struct {
	l            *Ledger
	partner, key string

	mu    sync.Mutex
	asked map[Sequence]int
}

// Controls returns the control numbers of partner (see X12Partner) for
// key. Neither may be empty; that is reported by Next.
func (l *Ledger) Controls(partner, key string) *Controls {
	return &Controls{l: l, partner: partner, key: key, asked: map[Sequence]int{}}
}

// Next returns the next number of seq for this key: the one given before
// to the same partner, key and position, or else the sequence's next one
// (recorded before it is returned).
func (c *Controls) Next(seq Sequence) (uint64, error) {
	if c.partner == "" || c.key == "" {
		return 0, fmt.Errorf("ledger: control numbers need a partner and a key (got partner %q, key %q)", c.partner, c.key)
	}
	max := seq.Max()
	if max == 0 {
		return 0, fmt.Errorf("ledger: control numbers of partner %s: unknown sequence %q", c.partner, seq)
	}
	c.mu.Lock()
	defer c.mu.Unlock()
	nth := c.asked[seq]
	var n uint64
	// A read first: a redelivery finds its numbers without a write.
	err := c.l.db.View(func(tx *bolt.Tx) error {
		rec, err := readKey(tx, c.partner, c.key)
		if err != nil {
			return err
		}
		if nth < len(rec.Numbers[seq]) {
			n = rec.Numbers[seq][nth]
		}
		return nil
	})
	if err == nil && n == 0 {
		err = c.l.db.Update(func(tx *bolt.Tx) error {
			rec, err := readKey(tx, c.partner, c.key)
			if err != nil {
				return err
			}
			if nth < len(rec.Numbers[seq]) { // given meanwhile
				n = rec.Numbers[seq][nth]
				return nil
			}
			if nth > len(rec.Numbers[seq]) {
				return fmt.Errorf("number %d of %s asked before number %d", nth+1, seq, len(rec.Numbers[seq])+1)
			}
			pb, err := partnerBucket(tx, c.partner)
			if err != nil {
				return err
			}
			lb, err := pb.CreateBucketIfNotExists(lastBucket)
			if err != nil {
				return err
			}
			last := uint64(0)
			if v := lb.Get([]byte(seq)); len(v) == 8 {
				last = binary.BigEndian.Uint64(v)
			}
			n = last + 1
			if n > max {
				n = 1
			}
			if err := lb.Put([]byte(seq), binary.BigEndian.AppendUint64(nil, n)); err != nil {
				return err
			}
			if rec.At.IsZero() {
				rec.At = time.Now().UTC()
			}
			rec.Numbers[seq] = append(rec.Numbers[seq], n)
			v, err := json.Marshal(rec)
			if err != nil {
				return err
			}
			kb, err := pb.CreateBucketIfNotExists(keysBucket)
			if err != nil {
				return err
			}
			return kb.Put([]byte(c.key), v)
		})
	}
	if err != nil {
		return 0, fmt.Errorf("ledger: control number %s of partner %s for %q: %w", seq, c.partner, c.key, err)
	}
	c.asked[seq] = nth + 1
	return n, nil
}

// readKey returns what key was given (empty numbers if nothing).
func readKey(tx *bolt.Tx, partner, key string) (keyRecord, error) {
	rec := keyRecord{Numbers: map[Sequence][]uint64{}}
	cb := tx.Bucket(controlsBucket)
	if cb == nil {
		return rec, nil
	}
	pb := cb.Bucket([]byte(partner))
	if pb == nil {
		return rec, nil
	}
	kb := pb.Bucket(keysBucket)
	if kb == nil {
		return rec, nil
	}
	v := kb.Get([]byte(key))
	if v == nil {
		return rec, nil
	}
	if err := json.Unmarshal(v, &rec); err != nil {
		return rec, fmt.Errorf("stored numbers of %q: %w", key, err)
	}
	if rec.Numbers == nil {
		rec.Numbers = map[Sequence][]uint64{}
	}
	return rec, nil
}

func partnerBucket(tx *bolt.Tx, partner string) (*bolt.Bucket, error) {
	cb, err := tx.CreateBucketIfNotExists(controlsBucket)
	if err != nil {
		return nil, err
	}
	return cb.CreateBucketIfNotExists([]byte(partner))
}

// X12 is the view an x12.Encoder takes as its Controls: ISA13, GS06 and
// ST02 from X12Interchange, X12Group and X12Set.
func (c *Controls) X12() x12.ControlNumbers { return x12Controls{c} }

// EDIFACT is the view an edifact.Encoder takes as its Controls: UNB 0020,
// UNG 0048 and UNH 0062 from EDIFACTInterchange, EDIFACTGroup and
// EDIFACTMessage.
func (c *Controls) EDIFACT() edifact.ControlRefs { return edifactControls{c} }

type x12Controls struct{ c *Controls }

func (x x12Controls) Next(level x12.ControlLevel) (uint64, error) {
	switch level {
	case x12.ControlInterchange:
		return x.c.Next(X12Interchange)
	case x12.ControlGroup:
		return x.c.Next(X12Group)
	case x12.ControlSet:
		return x.c.Next(X12Set)
	}
	return 0, fmt.Errorf("ledger: unknown X12 control level %v", level)
}

type edifactControls struct{ c *Controls }

func (e edifactControls) Next(level edifact.Level) (uint64, error) {
	switch level {
	case edifact.LevelInterchange:
		return e.c.Next(EDIFACTInterchange)
	case edifact.LevelGroup:
		return e.c.Next(EDIFACTGroup)
	case edifact.LevelMessage:
		return e.c.Next(EDIFACTMessage)
	}
	return 0, fmt.Errorf("ledger: unknown EDIFACT control level %v", level)
}

// ErrStarted is returned by SetStart when the sequence has handed out
// numbers already: its start is history.
var ErrStarted = errors.New("sequence already started")

// SetStart makes first the next number of partner's sequence seq, for a
// partner whose numbers went on elsewhere before (the old ESB's last ISA13
// plus one). It applies only to a sequence that has given no number yet
// in this ledger; otherwise it changes nothing and returns an error
// wrapping ErrStarted that says where the sequence is (so calling it at
// every start with the same configured value is safe).
func (l *Ledger) SetStart(partner string, seq Sequence, first uint64) error {
	max := seq.Max()
	switch {
	case partner == "":
		return errors.New("ledger: SetStart: empty partner")
	case max == 0:
		return fmt.Errorf("ledger: SetStart: unknown sequence %q", seq)
	case first < 1 || first > max:
		return fmt.Errorf("ledger: start %d of %s for partner %s is not between 1 and %d", first, seq, partner, max)
	}
	err := l.db.Update(func(tx *bolt.Tx) error {
		pb, err := partnerBucket(tx, partner)
		if err != nil {
			return err
		}
		lb, err := pb.CreateBucketIfNotExists(lastBucket)
		if err != nil {
			return err
		}
		if v := lb.Get([]byte(seq)); len(v) == 8 {
			return fmt.Errorf("%w: its last number is %d", ErrStarted, binary.BigEndian.Uint64(v))
		}
		return lb.Put([]byte(seq), binary.BigEndian.AppendUint64(nil, first-1))
	})
	if err != nil {
		return fmt.Errorf("ledger: start %s of partner %s at %d: %w", seq, partner, first, err)
	}
	return nil
}

// Last returns the last number partner's sequence seq handed out (the
// configured start minus one before the first), and whether it has one.
func (l *Ledger) Last(partner string, seq Sequence) (uint64, bool, error) {
	var n uint64
	var ok bool
	err := l.db.View(func(tx *bolt.Tx) error {
		cb := tx.Bucket(controlsBucket)
		if cb == nil {
			return nil
		}
		pb := cb.Bucket([]byte(partner))
		if pb == nil {
			return nil
		}
		lb := pb.Bucket(lastBucket)
		if lb == nil {
			return nil
		}
		if v := lb.Get([]byte(seq)); len(v) == 8 {
			n, ok = binary.BigEndian.Uint64(v), true
		}
		return nil
	})
	if err != nil {
		return 0, false, fmt.Errorf("ledger: last %s of partner %s: %w", seq, partner, err)
	}
	return n, ok, nil
}

// PruneControls forgets, for every partner, the numbers of keys whose
// first number was given before cutoff, and reports how many keys. A key
// asked again after that gets new numbers: keep a window longer than
// anything may be redelivered or re-processed (the topic's retention).
// The sequences themselves are kept.
func (l *Ledger) PruneControls(cutoff time.Time) (int, error) {
	n := 0
	err := l.db.Update(func(tx *bolt.Tx) error {
		cb := tx.Bucket(controlsBucket)
		if cb == nil {
			return nil
		}
		return cb.ForEachBucket(func(partner []byte) error {
			kb := cb.Bucket(partner).Bucket(keysBucket)
			if kb == nil {
				return nil
			}
			var old [][]byte
			err := kb.ForEach(func(k, v []byte) error {
				var rec struct {
					At time.Time `json:"at"`
				}
				if err := json.Unmarshal(v, &rec); err != nil {
					return fmt.Errorf("partner %s key %q: %w", partner, k, err)
				}
				if rec.At.Before(cutoff) {
					old = append(old, append([]byte(nil), k...))
				}
				return nil
			})
			if err != nil {
				return err
			}
			for _, k := range old {
				if err := kb.Delete(k); err != nil {
					return err
				}
			}
			n += len(old)
			return nil
		})
	})
	if err != nil {
		return 0, fmt.Errorf("ledger: prune control numbers: %w", err)
	}
	return n, nil
}
