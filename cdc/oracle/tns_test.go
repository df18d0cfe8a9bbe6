package oracle_test

import (
	"context"
	"database/sql"
	"encoding/binary"
	"errors"
	"io"
	"log/slog"
	"net"
	"strconv"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"legacybridge/cdc"
	"legacybridge/cdc/oracle"
)

// fakeListener is a tiny TNS listener: it reads each client's CONNECT
// packet and answers as the next behaviour says: refuse with an ORA code
// (what a real listener sends for an unknown service, an ACL, a blocked
// instance), or say nothing (a listener or firewall that swallows the
// connection).
type fakeListener struct {
	ln       net.Listener
	accepted atomic.Int32
	mu       sync.Mutex
	answers  []int // ORA code to refuse with; 0 = stay silent; the last repeats
	conns    []net.Conn
}

func newFakeListener(t *testing.T, answers ...int) *fakeListener {
	t.Helper()
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	f := &fakeListener{ln: ln, answers: answers}
	go f.serve()
	t.Cleanup(f.close)
	return f
}

func (f *fakeListener) port() int { return f.ln.Addr().(*net.TCPAddr).Port }

func (f *fakeListener) close() {
	f.ln.Close()
	f.mu.Lock()
	defer f.mu.Unlock()
	for _, c := range f.conns {
		c.Close()
	}
}

func (f *fakeListener) serve() {
	for {
		c, err := f.ln.Accept()
		if err != nil {
			return
		}
		n := int(f.accepted.Add(1))
		f.mu.Lock()
		f.conns = append(f.conns, c)
		code := f.answers[min(n, len(f.answers))-1]
		f.mu.Unlock()
		go f.answer(c, code)
	}
}

func (f *fakeListener) answer(c net.Conn, code int) {
	// CONNECT: an 8-byte header whose first two bytes are the length.
	hdr := make([]byte, 8)
	if _, err := io.ReadFull(c, hdr); err != nil {
		return
	}
	if hdr[4] != 1 {
		c.Close()
		return
	}
	body := make([]byte, int(binary.BigEndian.Uint16(hdr))-8)
	if _, err := io.ReadFull(c, body); err != nil {
		return
	}
	// Long connect data follows the packet on its own; drain it.
	c.SetReadDeadline(time.Now().Add(50 * time.Millisecond))
	io.Copy(io.Discard, c)
	c.SetReadDeadline(time.Time{})
	if code == 0 {
		return // silent: the client waits for an answer that never comes
	}
	msg := "(DESCRIPTION=(TMP=)(VSNNUM=318767104)(ERR=" + strconv.Itoa(code) + ")(ERROR_STACK=(ERROR=(CODE=" + strconv.Itoa(code) + ")(EMFI=4))))"
	pkt := make([]byte, 12+len(msg))
	binary.BigEndian.PutUint16(pkt, uint16(len(pkt)))
	pkt[4] = 4 // REFUSE
	pkt[8], pkt[9] = 1, 0
	binary.BigEndian.PutUint16(pkt[10:], uint16(len(msg)))
	copy(pkt[12:], msg)
	c.Write(pkt)
	c.Close()
}

func openAt(t *testing.T, port int, timeout time.Duration) *cdcDB {
	t.Helper()
	db, err := oracle.Open(oracle.Config{Host: "127.0.0.1", Port: port, Service: "EBSPROD", User: "apps", Password: "p@ss:w/rd?", Timeout: timeout})
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { db.Close() })
	return &cdcDB{DB: db}
}

func classify(t *testing.T, db *cdcDB, ctx context.Context) (cdc.ErrorClass, error) {
	t.Helper()
	err := db.PingContext(ctx)
	if err == nil {
		t.Fatal("ping succeeded against a fake listener")
	}
	return oracle.Dialect{}.Classify(err), err
}

func TestListenerRefusesService(t *testing.T) {
	f := newFakeListener(t, 12514)
	db := openAt(t, f.port(), 5*time.Second)
	c, err := classify(t, db, context.Background())
	if c.Kind != cdc.ErrServiceUnknown || !c.Transient || c.Code != "ORA-12514" {
		t.Errorf("refusal ORA-12514: %v classified %+v, want transient service-unknown ORA-12514", err, c)
	}
}

func TestNothingListens(t *testing.T) {
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	port := ln.Addr().(*net.TCPAddr).Port
	ln.Close()
	db := openAt(t, port, 5*time.Second)
	c, err := classify(t, db, context.Background())
	if c.Kind != cdc.ErrRefused || !c.Transient {
		t.Errorf("closed port: %v classified %+v, want transient refused", err, c)
	}
}

func TestSilentListenerTimesOut(t *testing.T) {
	f := newFakeListener(t, 0)
	db := openAt(t, f.port(), time.Second)
	ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
	defer cancel()
	c, err := classify(t, db, ctx)
	if c.Kind != cdc.ErrTimeout || !c.Transient {
		t.Errorf("silent listener: %v classified %+v, want transient timeout", err, c)
	}
	if ctx.Err() != nil {
		t.Errorf("the driver's TIMEOUT did not end the call; the context did (%v)", err)
	}
}

// TestWaitReadyRetriesTransient: the listener does not know the service
// twice (a database still starting), then refuses the client by ACL
// (permanent): WaitReady tries three times and stops with the ACL error.
func TestWaitReadyRetriesTransient(t *testing.T) {
	f := newFakeListener(t, 12514, 12514, 12506)
	db := openAt(t, f.port(), 5*time.Second)
	err := cdc.WaitReady(context.Background(), db.DB, oracle.Dialect{}, 50*time.Millisecond, slog.New(slog.DiscardHandler))
	var ce *cdc.Error
	if !errors.As(err, &ce) || ce.Class.Code != "ORA-12506" || ce.Class.Transient {
		t.Fatalf("WaitReady = %v, want the permanent ORA-12506", err)
	}
	if n := f.accepted.Load(); n != 3 {
		t.Errorf("%d connection attempts, want 3 (two retried refusals, then the permanent one)", n)
	}
}

type cdcDB struct{ DB *sql.DB }

func (d *cdcDB) PingContext(ctx context.Context) error { return d.DB.PingContext(ctx) }
