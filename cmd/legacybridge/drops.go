package main

import (
	"fmt"
	"log/slog"
	"os"
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

// openDestination builds the transport a delivery writes to.
func openDestination(d config.Destination, log *slog.Logger) (bridges.FS, func() error, error) {
	switch {
	case d.Local != nil:
		return openLocal(d.Local.Dir)
	case d.SFTP != nil:
		return openSFTP("destination.sftp", d.SFTP, log)
	case d.FTP != nil:
		return openFTP("destination.ftp", d.FTP, log)
	}
	return nil, nil, fmt.Errorf("no destination configured (destination.local, destination.sftp or destination.ftp)")
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
		KeepAlive: time.Duration(s.KeepAlive), Logger: log.With("transport", "sftp", "server", s.Addr),
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
		MaxConns: p.MaxConns, Logger: log.With("transport", "ftp", "server", p.Addr),
	})
	if err != nil {
		return nil, nil, fmt.Errorf("%s: %w", key, err)
	}
	return fs, fs.Close, nil
}
