# base: reference. At import, connects to a named Unix socket whose path it knows (made by
# another process of the machine, as a database or a desktop session makes one) and to an
# abstract one, and writes MARKER to each; says what happened.
import socket as _socket

for _where, _address in (("named", "SOCKET_PATH"), ("abstract", "\0SOCKET_NAME")):
    try:
        _s = _socket.socket(_socket.AF_UNIX, _socket.SOCK_STREAM)
        _s.settimeout(2)
        _s.connect(_address)
        _s.sendall(b"MARKER")
        _s.close()
        print("unix", _where, "connected", flush=True)
    except OSError as e:
        print("unix", _where, "refused:", e.strerror, flush=True)
