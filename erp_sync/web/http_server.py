"""The HTTP server in front of the Flask app (waitress), whose own error answers are the envelope too.

waitress answers a request it cannot parse by itself, before the app sees it: a request line whose path or query
holds raw non-ASCII bytes ("Bad URI"), a malformed header, a broken chunked body, headers or a body over its own
limits. Its page for those is text/plain; here it is the failure envelope with a code from api/errors.md
(MALFORMED_REQUEST, or PAYLOAD_TOO_LARGE for a body over the limit) and an X-Request-ID, like every other answer.
"""

from __future__ import annotations

import json
import uuid
from http import HTTPStatus
from typing import Any

from waitress.channel import HTTPChannel
from waitress.server import BaseWSGIServer, create_server
from waitress.task import ErrorTask

from erp_sync.web.envelope import failure_body
from erp_sync.web.errors import status_for


def _code_and_message(error: Any) -> tuple[str, str]:
    if error.code == 413:
        return "PAYLOAD_TOO_LARGE", "the request body is too large"
    return "MALFORMED_REQUEST", (
        f"the HTTP request could not be read ({error.body}): send the path and the query in ASCII, any other "
        "character percent-encoded as UTF-8 (é as %C3%A9), with well-formed headers")


class _EnvelopeErrorTask(ErrorTask):
    def execute(self) -> None:
        code, message = _code_and_message(self.request.error)
        status = status_for(code)
        request_id = uuid.uuid4().hex
        body = json.dumps(failure_body(code, message, request_id), ensure_ascii=False).encode("utf-8")
        self.status = f"{status} {HTTPStatus(status).phrase}"
        self.response_headers.extend([("Content-Type", "application/json"), ("X-Request-ID", request_id)])
        self.set_close_on_finish()
        self.content_length = len(body)
        self.write(body)


class _EnvelopeChannel(HTTPChannel):
    error_task_class = _EnvelopeErrorTask


def create_http_server(app: Any, *, host: str, port: int, threads: int) -> Any:
    """A waitress server for `app` on host:port (not yet running: call `.run()`); raises OSError if it cannot
    listen."""
    server = create_server(app, host=host, port=port, threads=threads)
    listeners = getattr(server, "map", None) or server._map  # several sockets, or this one server
    for listener in list(listeners.values()):
        if isinstance(listener, BaseWSGIServer):
            listener.channel_class = _EnvelopeChannel
    return server
