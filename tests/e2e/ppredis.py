"""Minimal Redis (RESP2) client for the test scripts: stdlib only, so the
tests need no pip packages. Not for production use.

AUTH: with PP_TEST_REDIS_PASSWORD set (and PP_TEST_REDIS_USER for an ACL
user) every connection authenticates first, so the check scripts also read a
Redis that requires a password (test_redis_tls.sh, through stunnel)."""
import os
import socket


class Redis:
    def __init__(self, host="127.0.0.1", port=6379, timeout=10.0):
        self.sock = socket.create_connection((host, port), timeout=timeout)
        self.buf = b""
        password = os.environ.get("PP_TEST_REDIS_PASSWORD")
        if password:
            user = os.environ.get("PP_TEST_REDIS_USER")
            self.cmd("AUTH", user, password) if user else self.cmd("AUTH", password)

    def _line(self):
        while b"\r\n" not in self.buf:
            chunk = self.sock.recv(65536)
            if not chunk:
                raise ConnectionError("redis closed the connection")
            self.buf += chunk
        line, self.buf = self.buf.split(b"\r\n", 1)
        return line

    def _exact(self, n):
        while len(self.buf) < n + 2:
            chunk = self.sock.recv(65536)
            if not chunk:
                raise ConnectionError("redis closed the connection")
            self.buf += chunk
        data, self.buf = self.buf[:n], self.buf[n + 2:]
        return data

    def _reply(self):
        line = self._line()
        kind, rest = line[:1], line[1:]
        if kind == b"+":
            return rest.decode()
        if kind == b"-":
            raise RuntimeError(rest.decode())
        if kind == b":":
            return int(rest)
        if kind == b"$":
            n = int(rest)
            return None if n < 0 else self._exact(n)
        if kind == b"*":
            n = int(rest)
            return None if n < 0 else [self._reply() for _ in range(n)]
        raise RuntimeError("bad reply %r" % line)

    def cmd(self, *args):
        out = [b"*%d\r\n" % len(args)]
        for a in args:
            b = a if isinstance(a, bytes) else str(a).encode()
            out.append(b"$%d\r\n%s\r\n" % (len(b), b))
        self.sock.sendall(b"".join(out))
        return self._reply()

    def hgetall(self, key):
        r = self.cmd("HGETALL", key)
        return {r[i].decode(): r[i + 1].decode() for i in range(0, len(r), 2)}

    def close(self):
        self.sock.close()
