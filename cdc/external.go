package cdc

import (
	"fmt"
	"time"

	bolt "go.etcd.io/bbolt"
)

// What strategies outside this package (cdc/oracle's LogMiner source)
// share with the engine, so their changes look like every other's.

// Convert turns a driver or text value of a column of kind k into the
// engine's value (see Image), as the strategies read them: exact
// decimals, date/times without zone placed in loc, NULL as nil.
func Convert(k Kind, v any, loc *time.Location) (any, error) { return convert(k, v, loc) }

// KeyOf picks the key column values out of an image, normalised as every
// strategy keys its changes (integral decimals as int64, times in UTC).
func KeyOf(img Image, cols []string) []any { return keyOf(img, cols) }

func positionKey(name string) []byte { return []byte("pos/" + name) }

// Position returns the position a strategy stored under name for flow
// (nil when none).
func (s *Store) Position(flow, name string) ([]byte, error) {
	var out []byte
	err := s.db.View(func(tx *bolt.Tx) error {
		if b := tx.Bucket(flowBucket(flow)); b != nil {
			if v := b.Get(positionKey(name)); v != nil {
				out = append([]byte(nil), v...)
			}
		}
		return nil
	})
	if err != nil {
		return nil, fmt.Errorf("cdc: position %s of %s: %w", name, flow, err)
	}
	return out, nil
}

// SetPosition stores a strategy's position under name for flow (synced
// to disk when it returns): only once Kafka acknowledged everything
// before it.
func (s *Store) SetPosition(flow, name string, v []byte) error {
	err := s.db.Update(func(tx *bolt.Tx) error {
		b, err := tx.CreateBucketIfNotExists(flowBucket(flow))
		if err != nil {
			return err
		}
		return b.Put(positionKey(name), v)
	})
	if err != nil {
		return fmt.Errorf("cdc: store position %s of %s: %w", name, flow, err)
	}
	return nil
}
