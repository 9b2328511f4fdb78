package model

import "testing"

func TestSocketAddress(t *testing.T) {
	for _, tc := range []struct {
		addr, dir, port string
		socket, err     bool
	}{
		{addr: "127.0.0.1:5432"},
		{addr: "db.internal:5432"},
		{addr: "[::1]:5432"},
		{addr: "/var/run/postgresql/.s.PGSQL.5432", dir: "/var/run/postgresql", port: "5432", socket: true},
		{addr: "/tmp/.s.PGSQL.6432", dir: "/tmp", port: "6432", socket: true},
		{addr: "/.s.PGSQL.1", dir: "/", port: "1", socket: true},
		{addr: "/var/run/postgresql", socket: true, err: true},
		{addr: "/var/run/postgresql/", socket: true, err: true},
		{addr: "/var/run/postgresql/.s.PGSQL.", socket: true, err: true},
		{addr: "/var/run/postgresql/.s.PGSQL.0", socket: true, err: true},
		{addr: "/var/run/postgresql/.s.PGSQL.65536", socket: true, err: true},
		{addr: "/var/run/postgresql/.s.PGSQL.05432", socket: true, err: true},
		{addr: "/var/run/postgresql/.s.PGSQL.+5432", socket: true, err: true},
		{addr: "/var/run/postgresql/.s.PGSQL.5432.lock", socket: true, err: true},
	} {
		dir, port, socket, err := SocketAddress(tc.addr)
		if socket != tc.socket || (err != nil) != tc.err || dir != tc.dir || port != tc.port {
			t.Errorf("SocketAddress(%q) = %q, %q, %v, %v; want %q, %q, %v, error %v",
				tc.addr, dir, port, socket, err, tc.dir, tc.port, tc.socket, tc.err)
		}
	}
}
