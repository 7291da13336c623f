"""HTTP guard: an ASGI middleware in front of the Gradio app for what Gradio leaves open.

- **Host allow-list** (``QA_ALLOWED_HOSTS``, comma-separated, e.g. ``qa.example.org,127.0.0.1``): a
  request with any other ``Host`` header gets 421 (DNS-rebinding and host-header tricks).  Unset,
  every host is answered, as before; a port in the header is ignored when matching.
- **No framing, no sniffing**: every response carries ``X-Frame-Options: DENY``,
  ``Content-Security-Policy: frame-ancestors 'none'`` and ``X-Content-Type-Options: nosniff``.
- **No uploads while the page has none**: ``POST …/upload`` is refused with 403 unless
  ``allow_upload`` is set, so nobody can fill the disk through Gradio's upload route.  With the staff
  tab on, ``allow_upload`` is a check of the request (``qa.staff.StaffAccess.upload_allowed``: the
  token a signed-in page carries), so uploads stay closed to everyone else.

Pure ASGI (no response buffering), so the answer stream (SSE) passes through unchanged.
"""

from __future__ import annotations

import os

SECURITY_HEADERS = ((b"x-frame-options", b"DENY"), (b"content-security-policy", b"frame-ancestors 'none'"),
                    (b"x-content-type-options", b"nosniff"))


def allowed_hosts_from_env(value: str | None = None) -> frozenset[str]:
    """``QA_ALLOWED_HOSTS`` as a set of lower-case host names (empty: every host allowed)."""
    value = os.environ.get("QA_ALLOWED_HOSTS", "") if value is None else value
    return frozenset(h.strip().lower() for h in value.split(",") if h.strip())


def _host_name(raw: str) -> str:
    raw = raw.strip().lower()
    if raw.startswith("["):  # [::1]:7860
        return raw[: raw.find("]") + 1] if "]" in raw else raw
    return raw.rsplit(":", 1)[0] if raw.count(":") == 1 else raw


class GuardMiddleware:
    def __init__(self, app, *, allowed_hosts=frozenset(), allow_upload=False):
        self.app = app
        self.allowed_hosts = frozenset(h.lower() for h in allowed_hosts)
        self.allow_upload = allow_upload

    async def __call__(self, scope, receive, send):
        if scope["type"] not in ("http", "websocket"):
            return await self.app(scope, receive, send)
        headers = dict(scope.get("headers") or [])
        if self.allowed_hosts:
            host = _host_name(headers.get(b"host", b"").decode("latin-1"))
            if host not in self.allowed_hosts:
                return await _plain(send, scope, 421, "unknown host")
        if (scope["type"] == "http" and scope.get("method") == "POST"
                and scope.get("path", "").rstrip("/").endswith("/upload")):
            allowed = self.allow_upload(scope) if callable(self.allow_upload) else self.allow_upload
            if not allowed:
                return await _plain(send, scope, 403, "uploads are not accepted here")

        async def send_with_headers(message):
            if message["type"] == "http.response.start":
                message = {**message, "headers": [*message.get("headers", []), *SECURITY_HEADERS]}
            await send(message)

        return await self.app(scope, receive, send_with_headers)


async def _plain(send, scope, status: int, text: str) -> None:
    if scope["type"] == "websocket":
        await send({"type": "websocket.close", "code": 1008})
        return
    body = text.encode()
    await send({"type": "http.response.start", "status": status,
                "headers": [(b"content-type", b"text/plain; charset=utf-8"), (b"content-length", str(len(body)).encode()),
                            *SECURITY_HEADERS]})
    await send({"type": "http.response.body", "body": body})
