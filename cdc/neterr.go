package cdc

import (
	"errors"
	"io"
	"net"
	"syscall"
)

func classifyNet(err error) (ErrorClass, bool) {
	switch {
	case errors.Is(err, syscall.ECONNREFUSED):
		return ErrorClass{Kind: ErrRefused, Transient: true, Hint: "nothing listens at the database address; check host and port, or wait for the database to start"}, true
	case errors.Is(err, syscall.ECONNRESET), errors.Is(err, syscall.EPIPE), errors.Is(err, io.ErrUnexpectedEOF), errors.Is(err, io.EOF), errors.Is(err, net.ErrClosed):
		return ErrorClass{Kind: ErrNetwork, Transient: true, Hint: "the connection was cut; retried"}, true
	}
	var ne net.Error
	if errors.As(err, &ne) && ne.Timeout() {
		return ErrorClass{Kind: ErrTimeout, Transient: true, Hint: "the database did not answer in time; retried"}, true
	}
	var oe *net.OpError
	if errors.As(err, &oe) {
		return ErrorClass{Kind: ErrNetwork, Transient: true, Hint: "network error; retried"}, true
	}
	var de *net.DNSError
	if errors.As(err, &de) {
		return ErrorClass{Kind: ErrNetwork, Transient: de.IsTemporary || de.IsNotFound, Hint: "the database host name does not resolve; check the DSN"}, true
	}
	return ErrorClass{}, false
}
