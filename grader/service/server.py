"""The production HTTP server: waitress (pure Python, threads, one process), with one change.

An upload larger than the limit is refused as soon as its headers say so (waitress's
`max_request_body_size`), with the service's own one-sentence answer in JSON; and the
connection then closes gracefully: the answer is sent, the server stops writing, and it reads
and drops what the client is still sending (up to a bound) before it closes. Closing at once
would reset the connection under a client still sending its body, which loses the answer.
"""
from __future__ import annotations

import json
import socket
import time

from waitress import create_server
from waitress.channel import HTTPChannel
from waitress.task import ErrorTask
from waitress.utilities import RequestEntityTooLarge

DRAIN_BYTES = 256 << 20   # read and drop at most this much of a refused body
DRAIN_SECONDS = 30.0


class _Refusal(ErrorTask):
    def execute(self):
        error = self.request.error
        if not isinstance(error, RequestEntityTooLarge):
            return super().execute()
        from .app import too_large
        body = json.dumps({"error": too_large(self.channel.server.upload_limit)}).encode()
        self.status = "413 Request Entity Too Large"
        self.response_headers.append(("Content-Type", "application/json"))
        self.set_close_on_finish()
        self.content_length = len(body)
        self.write(body)
        self.channel.drain = True


class _Channel(HTTPChannel):
    error_task_class = _Refusal
    drain = False       # after a refusal: drop the rest of the body before closing
    draining = None     # when draining began

    def handle_write(self):
        if self.drain and self.close_when_flushed and not self.total_outbufs_len \
                and self.draining is None:
            super()._flush_exception(self._flush_some)
            if not self.total_outbufs_len:
                try:
                    self.socket.shutdown(socket.SHUT_WR)  # the answer is complete: FIN
                except OSError:
                    pass
                self.close_when_flushed = False
                self.draining, self.dropped = time.monotonic(), 0
                return
        super().handle_write()

    def readable(self):
        if self.draining is not None:
            return True
        return super().readable()

    def writable(self):
        if self.draining is not None:
            return False
        return super().writable()

    def handle_read(self):
        if self.draining is None:
            return super().handle_read()
        try:
            data = self.recv(1 << 16)  # b"" at the end: the channel is closed already
        except OSError:
            self.handle_close()
            return
        if not data:
            return
        self.dropped += len(data)
        if self.dropped > DRAIN_BYTES or \
                time.monotonic() - self.draining > DRAIN_SECONDS:
            self.handle_close()


def serve(app, host: str, port: int, upload_limit: int, threads: int = 8, ready=None):
    """Serve `app` until interrupted; `ready()` is called once the socket listens."""
    server = create_server(app, host=host, port=port, threads=threads,
                           max_request_body_size=upload_limit + 64 * 1024,
                           ident="grader", clear_untrusted_proxy_headers=True,
                           # a TLS proxy on this machine says the request came over https:
                           # the URLs the service gives out (LTI's redirect_uri) must say so
                           trusted_proxy="127.0.0.1", trusted_proxy_count=1,
                           trusted_proxy_headers={"x-forwarded-proto"})
    server.channel_class = _Channel
    server.upload_limit = upload_limit
    if ready:
        ready(server)
    server.run()
