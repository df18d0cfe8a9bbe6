package ftp

import (
	"bytes"
	"errors"
	"fmt"
	"path"
	"strconv"
	"strings"
	"sync"
	"time"

	"github.com/jlaffaye/ftp"

	"legacybridge/bridges"
)

// listed is one entry as a listing shows it, before times are made precise.
type listed struct {
	name           string
	size           int64
	time           time.Time
	precise        bool // time is the exact modification time (MLSD modify fact)
	isDir, special bool
}

// list lists the folder p.
func (s *conn) list(p string) ([]bridges.Entry, error) {
	var es []listed
	if s.mlst {
		var mp *mlsdParser
		err := s.dataRetry(func() error {
			mp = &mlsdParser{}
			s.tee = mp
			_, err := s.sc.List(p)
			s.tee = nil
			return err
		})
		if err != nil {
			return nil, s.listErr(p, err)
		}
		mp.flush()
		es = mp.entries
	} else {
		var raw []*ftp.Entry
		err := s.dataRetry(func() (err error) {
			raw, err = s.sc.List(p)
			return err
		})
		if err != nil {
			return nil, s.listErr(p, err)
		}
		es = fromLIST(raw)
		// LIST of a file lists that file: tell it from a folder holding
		// only an entry of its own name.
		if len(es) == 1 && !es[0].isDir && es[0].name == path.Base(p) {
			if err := s.sc.ChangeDir(p); isReply(err) {
				return nil, fmt.Errorf("ftp: list %s on %s: not a folder", p, s.f.server)
			} else if err != nil {
				return nil, s.fail("list "+p, err)
			}
		}
	}
	listedAt := s.f.mtimes.timeNow()
	var mdtm func(string) (time.Time, error)
	if s.mdtm {
		mdtm = func(name string) (time.Time, error) { return s.modTime(path.Join(p, name)) }
	}
	out, err := s.f.mtimes.resolve(p, es, listedAt, mdtm)
	if err != nil {
		return nil, s.fail("list "+p+": MDTM", err)
	}
	return out, nil
}

func (s *conn) listErr(p string, err error) error {
	if c := replyCode(err); (c == 450 || c == 550) && s.missing(p) {
		return s.notExist("list "+p, err)
	}
	return s.fail("list "+p, err)
}

// fromLIST converts jlaffaye/ftp's parse of a LIST listing (lines it cannot
// parse, such as pipes, are left out).
func fromLIST(raw []*ftp.Entry) []listed {
	out := make([]listed, 0, len(raw))
	for _, r := range raw {
		name := r.Name
		if strings.Contains(name, "/") { // some servers list a file by its path
			name = path.Base(name)
		}
		if name == "." || name == ".." {
			continue
		}
		// Names bridges.CheckName refuses (control characters, backslashes)
		// are still returned: the poller logs them, once, and leaves them.
		out = append(out, listed{name: name, size: int64(r.Size), time: r.Time,
			isDir: r.Type == ftp.EntryTypeFolder, special: r.Type == ftp.EntryTypeLink})
	}
	return out
}

// mlsdParser parses an MLSD listing (RFC 3659 section 7) as it streams past.
type mlsdParser struct {
	partial []byte
	entries []listed
}

func (m *mlsdParser) Write(b []byte) (int, error) {
	n := len(b)
	for len(b) > 0 {
		i := bytes.IndexByte(b, '\n')
		if i < 0 {
			if len(m.partial) < 1<<16 {
				m.partial = append(m.partial, b...)
			}
			break
		}
		line := b[:i]
		if len(m.partial) > 0 {
			m.partial = append(m.partial, line...)
			line = m.partial
		}
		m.line(line)
		m.partial = m.partial[:0]
		b = b[i+1:]
	}
	return n, nil
}

// flush parses a last line that had no line end.
func (m *mlsdParser) flush() {
	if len(m.partial) > 0 {
		m.line(m.partial)
		m.partial = nil
	}
}

func (m *mlsdParser) line(b []byte) {
	if e, ok := parseMLSx(string(bytes.TrimSuffix(b, []byte("\r")))); ok {
		m.entries = append(m.entries, e)
	}
}

// parseMLSx parses one "fact=value;fact=value; name" line of MLSD or MLST.
// It reports false for lines that name no entry: the folder itself and its
// parent (type cdir, pdir, or names "." and ".."). Names that
// bridges.CheckName refuses are returned, so that the poller can report
// them (once) rather than the file silently never arriving; every FS method
// refuses them as a path.
func parseMLSx(line string) (listed, bool) {
	e, typ, ok := parseFacts(line)
	if !ok || typ == "cdir" || typ == "pdir" || e.name == "." || e.name == ".." {
		return listed{}, false
	}
	return e, true
}

// parseFacts parses the facts of one MLSD or MLST line; typ is the type
// fact in lower case ("file" when missing).
func parseFacts(line string) (e listed, typ string, ok bool) {
	facts, name, ok := strings.Cut(line, " ")
	if !ok || name == "" {
		return listed{}, "", false
	}
	if strings.Contains(name, "/") { // MLST names the path it was given
		name = path.Base(name)
	}
	e.name = name
	typ = "file"
	for _, fact := range strings.Split(facts, ";") {
		k, v, ok := strings.Cut(fact, "=")
		if !ok {
			continue
		}
		switch strings.ToLower(k) {
		case "type":
			typ = strings.ToLower(v)
		case "size":
			if n, err := strconv.ParseInt(v, 10, 64); err == nil {
				e.size = n
			}
		case "modify":
			if t, ok := parseFTPTime(v); ok {
				e.time, e.precise = t, true
			}
		}
	}
	switch typ {
	case "dir", "cdir", "pdir":
		e.isDir = true
	case "file":
	default: // os.unix=symlink, os.unix=slink:TARGET, devices, ...
		e.special = true
	}
	return e, typ, true
}

// parseFTPTime parses an RFC 3659 time-val: YYYYMMDDHHMMSS[.sss] in UTC.
func parseFTPTime(v string) (time.Time, bool) {
	if len(v) < 14 {
		return time.Time{}, false
	}
	t, err := time.ParseInLocation("20060102150405", v[:14], time.UTC)
	if err != nil {
		return time.Time{}, false
	}
	if frac := v[14:]; frac != "" {
		if frac[0] != '.' || len(frac) < 2 || len(frac) > 10 {
			return time.Time{}, false
		}
		n, err := strconv.Atoi(frac[1:])
		if err != nil || n < 0 {
			return time.Time{}, false
		}
		for range 9 - (len(frac) - 1) {
			n *= 10
		}
		t = t.Add(time.Duration(n))
	}
	return t, true
}

// mtimeCache remembers, per folder, the exact times MDTM gave for the files
// of its last LIST listing, keyed by name and checked against the listed size
// and listed (minute-precise) time. See the package documentation.
//
// A remembered time is trusted only once it is final: once the server's
// clock is known to have passed the end of the file's listed minute, any
// later change to the file changes its listed time. Before that (a file
// changed within the last minute or so) every listing asks MDTM again, so a
// rewrite of the same size within the same minute is still seen.
//
// The server's clock is known in two ways. A listing that shows a time was
// produced when the server's clock was at least that time; a minute (plus a
// second) of this machine's monotonic clock later, the server's clock has
// passed the end of that minute: so an MDTM sent 61 s after the listing that
// first showed a file's size and listed time is final. And the newest time
// the server has shown (listed or MDTM, if not ahead of this machine's clock
// by more than 5 minutes) is a lower bound of its clock, which moves on with
// this machine's monotonic clock: a file whose listed minute ended before
// that bound is final at once. In a folder of old files only the files of the
// newest minute wait; in a busy folder the newest file tells the time.
type mtimeCache struct {
	mu    sync.Mutex
	dirs  map[string]*dirTimes
	tick  uint64
	clock struct{ base, at time.Time } // the server's clock was at least base at local time at
	now   func() time.Time             // time.Now; tests change it
}

type dirTimes struct {
	files map[string]fileTime
	used  uint64
}

type fileTime struct {
	size   int64
	listed time.Time
	exact  time.Time
	seen   time.Time // local time after the listing that first showed this size and listed time
	final  bool      // exact can no longer change without size or listed time changing
}

const (
	maxCachedDirs = 256
	// settle is how long after first seeing a listed time the server's
	// clock has surely passed the end of its minute.
	settle = time.Minute + time.Second
	// maxAhead is how far ahead of this machine's clock a time the server
	// shows may be and still count as a lower bound of the server's clock.
	maxAhead = 5 * time.Minute
)

func (c *mtimeCache) timeNow() time.Time {
	if c.now != nil {
		return c.now()
	}
	return time.Now()
}

// observe records that the server's clock was at least ts at local time at.
func (c *mtimeCache) observe(ts, at time.Time) {
	if ts.IsZero() || ts.After(at.Add(maxAhead)) {
		return
	}
	c.mu.Lock()
	defer c.mu.Unlock()
	if c.clock.base.IsZero() || ts.After(c.clock.base.Add(at.Sub(c.clock.at))) {
		c.clock.base, c.clock.at = ts, at
	}
}

// serverNow is a lower bound of the server's clock at local time at (zero
// when nothing is known).
func (c *mtimeCache) serverNow(at time.Time) time.Time {
	c.mu.Lock()
	defer c.mu.Unlock()
	if c.clock.base.IsZero() {
		return time.Time{}
	}
	return c.clock.base.Add(at.Sub(c.clock.at))
}

func (c *mtimeCache) get(dir string) map[string]fileTime {
	c.mu.Lock()
	defer c.mu.Unlock()
	if d := c.dirs[dir]; d != nil {
		c.tick++
		d.used = c.tick
		return d.files
	}
	return nil
}

// put replaces what is known about dir. The maps are never changed after
// they are stored, so get can hand them out.
func (c *mtimeCache) put(dir string, files map[string]fileTime) {
	c.mu.Lock()
	defer c.mu.Unlock()
	if c.dirs == nil {
		c.dirs = map[string]*dirTimes{}
	}
	c.tick++
	c.dirs[dir] = &dirTimes{files: files, used: c.tick}
	if len(c.dirs) > maxCachedDirs {
		var oldest string
		var at uint64
		for k, d := range c.dirs {
			if oldest == "" || d.used < at {
				oldest, at = k, d.used
			}
		}
		delete(c.dirs, oldest)
	}
}

// resolve gives every plain file of a listing of dir, made at local time
// listedAt, whose time is not precise its exact time: from the cache when
// that is final for the listed size and time, else from mdtm (nil: the server
// has no MDTM, and the listed time stays). A file MDTM says is gone (a
// permanent negative reply) is left out. On an error the times learnt so far
// are kept for the next listing.
func (c *mtimeCache) resolve(dir string, es []listed, listedAt time.Time, mdtm func(name string) (time.Time, error)) ([]bridges.Entry, error) {
	old := c.get(dir)
	var next map[string]fileTime
	out := make([]bridges.Entry, 0, len(es))
	for _, l := range es {
		c.observe(l.time, listedAt)
	}
	for _, l := range es {
		e := bridges.Entry{Name: l.name, Size: l.size, ModTime: l.time, IsDir: l.isDir, Special: l.special}
		if l.precise || l.isDir || l.special || mdtm == nil {
			out = append(out, e)
			continue
		}
		if next == nil {
			next = make(map[string]fileTime, len(es))
		}
		ft, same := old[l.name]
		same = same && ft.size == l.size && ft.listed.Equal(l.time)
		if same && ft.final {
			e.ModTime = ft.exact
			next[l.name] = ft
			out = append(out, e)
			continue
		}
		if !same {
			ft = fileTime{size: l.size, listed: l.time, seen: listedAt}
		}
		before := c.timeNow()
		t, err := mdtm(l.name)
		switch {
		case isReply(err) && replyCode(err) >= 500:
			continue // removed since the listing (or not a plain file after all)
		case err != nil:
			merged := make(map[string]fileTime, len(old)+len(next))
			for k, v := range old {
				merged[k] = v
			}
			for k, v := range next {
				merged[k] = v
			}
			c.put(dir, merged)
			return nil, fmt.Errorf("%s: %w", l.name, err)
		}
		c.observe(t, c.timeNow())
		ft.exact = t
		ft.final = !before.Before(ft.seen.Add(settle)) || !c.serverNow(before).Before(l.time.Add(time.Minute))
		next[l.name] = ft
		e.ModTime = t
		out = append(out, e)
	}
	if next != nil || old != nil {
		c.put(dir, next)
	}
	return out, nil
}

// modTime asks MDTM for p's exact time. The reply is parsed here: jlaffaye's
// parser refuses fractional seconds, which RFC 3659 allows.
func (s *conn) modTime(p string) (time.Time, error) {
	s.cap.start()
	t, err := s.sc.GetTime(p)
	raw := s.cap.stopped()
	if err == nil || isReply(err) {
		return t, err
	}
	if v, ok := replyLine(raw, "213"); ok {
		if t, ok := parseFTPTime(v); ok {
			return t, nil
		}
	}
	return time.Time{}, err
}

// replyLine finds the final reply line with code in captured control
// traffic and returns its text.
func replyLine(raw, code string) (string, bool) {
	for _, l := range strings.Split(raw, "\n") {
		if l, ok := strings.CutPrefix(strings.TrimRight(l, "\r"), code+" "); ok {
			return strings.TrimSpace(l), true
		}
	}
	return "", false
}

// stat describes p: by MLST when offered, else by SIZE and MDTM, or CWD for
// a folder.
func (s *conn) stat(p string) (bridges.Entry, error) {
	if s.mlst {
		s.cap.start()
		_, err := s.sc.GetEntry(p)
		raw := s.cap.stopped()
		if isReply(err) {
			if replyCode(err) >= 500 {
				return bridges.Entry{}, s.notExist("stat "+p, err)
			}
			return bridges.Entry{}, s.fail("stat "+p, err)
		}
		// Parse the reply here (jlaffaye's parser refuses fractional seconds
		// and loses the type of links): its fact lines start with a space.
		var e listed
		found := false
		for _, l := range strings.Split(raw, "\n") {
			l = strings.TrimRight(l, "\r")
			if strings.HasPrefix(l, " ") {
				if le, _, ok := parseFacts(strings.TrimLeft(l, " ")); ok {
					e, found = le, true
				}
			}
		}
		if found {
			if !e.precise && !e.isDir && s.mdtm {
				if t, err := s.modTime(p); err == nil {
					e.time = t
				}
			}
			return bridges.Entry{Size: e.size, ModTime: e.time, IsDir: e.isDir, Special: e.special}, nil
		}
		if err != nil {
			return bridges.Entry{}, s.fail("stat "+p, err)
		}
		// No usable fact line: fall through to SIZE and MDTM.
	}
	if !s.mdtm {
		return s.statByListing(p)
	}
	t, err := s.modTime(p)
	if err == nil {
		size, err := s.sc.FileSize(p)
		if err != nil {
			return bridges.Entry{}, s.fail("stat "+p+": SIZE", err)
		}
		return bridges.Entry{Size: size, ModTime: t}, nil
	}
	if !isReply(err) {
		return bridges.Entry{}, s.fail("stat "+p+": MDTM", err)
	}
	// Not a plain file: a folder, or nothing.
	if cerr := s.sc.ChangeDir(p); cerr != nil {
		if isReply(cerr) {
			return bridges.Entry{}, s.notExist("stat "+p, err)
		}
		return bridges.Entry{}, s.fail("stat "+p+": CWD", cerr)
	}
	return bridges.Entry{IsDir: true}, nil
}

// statByListing finds p in a listing of its folder (servers with neither MLST
// nor MDTM).
func (s *conn) statByListing(p string) (bridges.Entry, error) {
	if p == "/" {
		return bridges.Entry{IsDir: true}, nil
	}
	es, err := s.list(path.Dir(p))
	if err != nil {
		if errors.Is(err, bridges.ErrNotExist) {
			return bridges.Entry{}, s.notExist("stat "+p, err)
		}
		return bridges.Entry{}, err
	}
	for _, e := range es {
		if e.Name == path.Base(p) {
			return e, nil
		}
	}
	return bridges.Entry{}, s.notExist("stat "+p, errors.New("not in its folder's listing"))
}

// mkdirAll creates p and its missing parents.
func (s *conn) mkdirAll(p string) error {
	if err := s.sc.ChangeDir(p); err == nil || !isReply(err) {
		return s.fail("mkdir "+p, err)
	}
	parts := strings.Split(strings.TrimPrefix(p, "/"), "/")
	cur := ""
	if path.IsAbs(p) {
		cur = "/"
	}
	for _, part := range parts {
		cur = path.Join(cur, part)
		err := s.sc.MakeDir(cur)
		if err == nil {
			continue
		}
		if !isReply(err) {
			return s.fail("mkdir "+cur, err)
		}
		if cerr := s.sc.ChangeDir(cur); cerr != nil { // not there as a folder
			if !isReply(cerr) {
				return s.fail("mkdir "+cur, cerr)
			}
			return s.fail("mkdir "+cur+" (for "+p+")", err)
		}
	}
	return nil
}

// rename moves from to to, replacing an existing file at to.
func (s *conn) rename(from, to string) error {
	what := "rename " + from + " to " + to
	err := s.sc.Rename(from, to)
	if err == nil || !isReply(err) {
		return s.fail(what, err)
	}
	// RNFR or RNTO was refused. A missing source is ErrNotExist; an existing
	// target the server refuses to replace is deleted first.
	if s.missing(from) {
		return s.notExist(what, err)
	}
	if s.missing(to) {
		return s.fail(what, err)
	}
	if derr := s.sc.Delete(to); derr != nil {
		if !isReply(derr) {
			return s.fail(what+": delete the old target", derr)
		}
		// A folder, or not ours to delete: report the rename's reply.
		return s.fail(what, fmt.Errorf("%w (and the existing target could not be deleted: %v)", err, derr))
	}
	s.f.log.Debug("ftp: deleted the target before renaming over it", "server", s.f.server, "from", from, "to", to)
	return s.fail(what, s.sc.Rename(from, to))
}
