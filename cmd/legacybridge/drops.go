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
		fs, err := local.Open(l.Dir)
		if err != nil {
			return nil, nil, err
		}
		return fs, fs.Close, nil
	case src.SFTP != nil:
		s := src.SFTP
		pw, err := config.Secret("source.sftp.password", s.PasswordEnv, s.PasswordFile)
		if err != nil {
			return nil, nil, err
		}
		pass, err := config.Secret("source.sftp.key_passphrase", s.KeyPassphraseEnv, s.KeyPassphraseFile)
		if err != nil {
			return nil, nil, err
		}
		var key []byte
		if s.PrivateKeyFile != "" {
			if key, err = os.ReadFile(s.PrivateKeyFile); err != nil {
				return nil, nil, fmt.Errorf("source.sftp.private_key_file: %w", err)
			}
		}
		fs, err := sftp.New(sftp.Config{
			Addr: s.Addr, User: s.User, Password: pw, PrivateKey: key, KeyPassphrase: []byte(pass),
			KnownHostsFile: s.KnownHosts, Root: s.Dir, Timeout: time.Duration(s.Timeout),
			KeepAlive: time.Duration(s.KeepAlive), Logger: log.With("transport", "sftp", "server", s.Addr),
		})
		if err != nil {
			return nil, nil, err
		}
		return fs, fs.Close, nil
	case src.FTP != nil:
		p := src.FTP
		pw, err := config.Secret("source.ftp.password", p.PasswordEnv, p.PasswordFile)
		if err != nil {
			return nil, nil, err
		}
		fs, err := ftp.New(ftp.Config{
			Addr: p.Addr, User: p.User, Password: pw, TLS: p.TLS, CAFile: p.CAFile, ServerName: p.ServerName,
			Root: p.Dir, Timeout: time.Duration(p.Timeout), DisableMLSD: p.DisableMLSD, DisableEPSV: p.DisableEPSV,
			MaxConns: p.MaxConns, Logger: log.With("transport", "ftp", "server", p.Addr),
		})
		if err != nil {
			return nil, nil, err
		}
		return fs, fs.Close, nil
	}
	return nil, nil, fmt.Errorf("no source configured")
}
