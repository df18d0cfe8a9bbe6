package main

import (
	"fmt"
	"log/slog"
	"os"
	"path"
	"time"

	"legacybridge/bridges"
	"legacybridge/bridges/ftp"
	"legacybridge/bridges/local"
	"legacybridge/bridges/sftp"
	"legacybridge/internal/config"
)

// openDrop builds the transport of a flow's source. Nothing connects yet:
// remote transports dial on first use and re-dial with backoff.
func openDrop(src config.Source, log *slog.Logger) (bridges.FS, func() error, error) {
	switch {
	case src.Local != nil:
		l := src.Local
		if seeded, err := l.Seed(); err != nil {
			return nil, nil, err
		} else if seeded {
			log.Info("demo drop folder seeded", "from", l.SeedFrom, "to", l.Dir)
		}
		return openLocal(l.Dir)
	case src.SFTP != nil:
		return openSFTP("source.sftp", &src.SFTP.SFTPConn, log)
	case src.FTP != nil:
		return openFTP("source.ftp", &src.FTP.FTPConn, log)
	}
	return nil, nil, fmt.Errorf("no source configured (source.local, source.sftp or source.ftp)")
}

// openDestination builds the transport a delivery writes to, and the
// folder to write in relative to its root. Remote transports are rooted at
// the folder's parent, so the delivery can create the folder when it is
// missing.
func openDestination(d config.Destination, log *slog.Logger) (bridges.FS, string, func() error, error) {
	switch {
	case d.Local != nil:
		fs, closeFS, err := openLocal(d.Local.Dir)
		return fs, "", closeFS, err
	case d.SFTP != nil:
		c := *d.SFTP
		var sub string
		c.Dir, sub = splitRemote(c.Dir)
		fs, closeFS, err := openSFTP("destination.sftp", &c, log)
		return fs, sub, closeFS, err
	case d.FTP != nil:
		c := *d.FTP
		var sub string
		c.Dir, sub = splitRemote(c.Dir)
		fs, closeFS, err := openFTP("destination.ftp", &c, log)
		return fs, sub, closeFS, err
	}
	return nil, "", nil, fmt.Errorf("no destination configured (destination.local, destination.sftp or destination.ftp)")
}

// splitRemote splits a remote folder into its parent and its last element;
// "" (the login folder) and "/" stay whole.
func splitRemote(dir string) (parent, sub string) {
	clean := path.Clean(dir)
	if dir == "" || clean == "/" || clean == "." {
		return dir, ""
	}
	parent, sub = path.Split(clean) // a relative "out" gives "" (the login folder) and "out"
	return parent, sub
}

func openLocal(dir string) (bridges.FS, func() error, error) {
	fs, err := local.Open(dir)
	if err != nil {
		return nil, nil, err
	}
	return fs, fs.Close, nil
}

func openSFTP(key string, s *config.SFTPConn, log *slog.Logger) (bridges.FS, func() error, error) {
	pw, err := config.Secret(key+".password", s.PasswordEnv, s.PasswordFile)
	if err != nil {
		return nil, nil, err
	}
	pass, err := config.Secret(key+".key_passphrase", s.KeyPassphraseEnv, s.KeyPassphraseFile)
	if err != nil {
		return nil, nil, err
	}
	var pk []byte
	if s.PrivateKeyFile != "" {
		if pk, err = os.ReadFile(s.PrivateKeyFile); err != nil {
			return nil, nil, fmt.Errorf("%s.private_key_file: %w", key, err)
		}
	}
	fs, err := sftp.New(sftp.Config{
		Addr: s.Addr, User: s.User, Password: pw, PrivateKey: pk, KeyPassphrase: []byte(pass),
		KnownHostsFile: s.KnownHosts, Root: s.Dir, Timeout: time.Duration(s.Timeout),
		KeepAlive: time.Duration(s.KeepAlive), Logger: log.With("transport", "sftp"),
	})
	if err != nil {
		return nil, nil, fmt.Errorf("%s: %w", key, err)
	}
	return fs, fs.Close, nil
}

func openFTP(key string, p *config.FTPConn, log *slog.Logger) (bridges.FS, func() error, error) {
	pw, err := config.Secret(key+".password", p.PasswordEnv, p.PasswordFile)
	if err != nil {
		return nil, nil, err
	}
	fs, err := ftp.New(ftp.Config{
		Addr: p.Addr, User: p.User, Password: pw, TLS: p.TLS, CAFile: p.CAFile, ServerName: p.ServerName,
		Root: p.Dir, Timeout: time.Duration(p.Timeout), DisableMLSD: p.DisableMLSD, DisableEPSV: p.DisableEPSV,
		MaxConns: p.MaxConns, Logger: log.With("transport", "ftp"),
	})
	if err != nil {
		return nil, nil, fmt.Errorf("%s: %w", key, err)
	}
	return fs, fs.Close, nil
}
