"""A token service for the OAuth2 tests, on loopback: it issues access tokens and checks them.

One :class:`TokenAuthority` keeps the tokens it issued and when each expires.
A :class:`TokenServer` serves it over HTTP (or HTTPS, for MSAL) with the
endpoints the tests need:

* ``POST /introspect`` — Dovecot's oauth2 password database asks about a token
  here (RFC 7662: ``{"active": true, "username": "pulje"}``);
* ``GET /issue?lifetime=S`` — a new token as JSON, for token commands;
* ``GET /<tenant>/v2.0/.well-known/openid-configuration`` and
  ``POST /<tenant>/oauth2/v2.0/token`` — Microsoft Entra ID's discovery and its
  client-credentials grant, as MSAL calls them;
* ``POST /google/token`` — Google's JWT-bearer grant for a service account; the
  signed assertion is checked against the key the test made.
"""

from __future__ import annotations

import base64
import json
import secrets
import ssl
import threading
import time
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path
from urllib.parse import parse_qs, urlsplit

from cryptography.hazmat.primitives import hashes, serialization
from cryptography.hazmat.primitives.asymmetric import padding, rsa

TENANT = "bl-tenant"
CLIENT_ID = "pulje-intake-app"
CLIENT_SECRET = "app-secret-from-entra"
GOOGLE_CLIENT = "pulje-intake@bl-project.iam.gserviceaccount.com"


class TokenAuthority:
    """The tokens issued so far, who they are for, and every question asked about them."""

    def __init__(self, username: str = "pulje", lifetime: float = 3600):
        self.username = username
        self.lifetime = lifetime
        self.lock = threading.Lock()
        self.tokens: dict[str, float] = {}  # token → expiry (time.time())
        self.introspected: list[tuple[str, bool]] = []  # (token, active) per login the server checked
        self.granted: list[dict] = []  # the token requests granted (Entra, Google)
        self.google_key = rsa.generate_private_key(public_exponent=65537, key_size=2048)

    def issue(self, lifetime: float | None = None) -> str:
        """A new token valid for ``lifetime`` seconds."""
        token = "tok-" + secrets.token_urlsafe(18)
        with self.lock:
            self.tokens[token] = time.time() + (self.lifetime if lifetime is None else lifetime)
        return token

    def active(self, token: str) -> bool:
        """Issued by us and not yet expired."""
        with self.lock:
            return self.tokens.get(token, 0) > time.time()

    def logins(self) -> list[tuple[str, bool]]:
        """A copy of the introspection log."""
        with self.lock:
            return list(self.introspected)

    def google_key_json(self, token_uri: str) -> str:
        """A service-account key file for our Google endpoint (the private key of ``google_key``)."""
        pem = self.google_key.private_bytes(serialization.Encoding.PEM, serialization.PrivateFormat.PKCS8,
                                            serialization.NoEncryption()).decode()
        return json.dumps({
            "type": "service_account", "project_id": "bl-project", "private_key_id": "key-1",
            "private_key": pem, "client_email": GOOGLE_CLIENT, "client_id": "1234567890",
            "token_uri": token_uri,
        })

    def check_google_assertion(self, assertion: str) -> dict | None:
        """The claims of a JWT signed with our service account's key, or None."""
        try:
            head, body, sig = assertion.split(".")
            self.google_key.public_key().verify(_unb64(sig), f"{head}.{body}".encode(), padding.PKCS1v15(),
                                                hashes.SHA256())
            return json.loads(_unb64(body))
        except Exception:
            return None


def _unb64(text: str) -> bytes:
    return base64.urlsafe_b64decode(text + "=" * (-len(text) % 4))


class _Handler(BaseHTTPRequestHandler):
    server: _Server

    def log_message(self, format, *args):  # noqa: A002 - the base class's name
        pass  # quiet: pytest shows failures, not every request

    def _send(self, status: int, body: dict) -> None:
        data = json.dumps(body).encode()
        self.send_response(status)
        self.send_header("Content-Type", "application/json")
        self.send_header("Content-Length", str(len(data)))
        self.end_headers()
        self.wfile.write(data)

    def _form(self) -> dict[str, str]:
        length = int(self.headers.get("Content-Length") or 0)
        return {k: v[0] for k, v in parse_qs(self.rfile.read(length).decode()).items()}

    def do_GET(self):  # noqa: N802 - http.server's name
        url = urlsplit(self.path)
        base = self.server.url
        if url.path == "/issue":
            lifetime = float(parse_qs(url.query).get("lifetime", ["3600"])[0])
            token = self.server.authority.issue(lifetime)
            self._send(200, {"access_token": token, "expires_in": lifetime})
        elif url.path == f"/{TENANT}/v2.0/.well-known/openid-configuration":
            self._send(200, {"issuer": f"{base}/{TENANT}/v2.0",
                             "authorization_endpoint": f"{base}/{TENANT}/oauth2/v2.0/authorize",
                             "token_endpoint": f"{base}/{TENANT}/oauth2/v2.0/token"})
        else:  # an unknown tenant, as Entra answers it
            self._send(400, {"error": "invalid_tenant", "error_description": "AADSTS90002: Tenant not found."})

    def do_POST(self):  # noqa: N802 - http.server's name
        authority = self.server.authority
        form = self._form()
        if self.path == "/introspect":
            active = authority.active(form.get("token", ""))
            with authority.lock:
                authority.introspected.append((form.get("token", ""), active))
            self._send(200, {"active": active, "username": authority.username} if active else {"active": False})
        elif self.path == f"/{TENANT}/oauth2/v2.0/token":
            if self.server.fail_with:
                self._send(self.server.fail_with, {"error": "server_error"})
            elif (form.get("grant_type") != "client_credentials" or form.get("client_id") != CLIENT_ID
                    or form.get("client_secret") != CLIENT_SECRET):
                self._send(401, {"error": "invalid_client", "error_description":
                                 "AADSTS7000215: Invalid client secret provided.\r\nTrace ID: 1"})
            else:
                with authority.lock:
                    authority.granted.append({"provider": "entra", "scope": form.get("scope")})
                self._send(200, {"token_type": "Bearer", "expires_in": int(authority.lifetime),
                                 "access_token": authority.issue()})
        elif self.path == "/google/token":
            claims = authority.check_google_assertion(form.get("assertion", ""))
            if form.get("grant_type") != "urn:ietf:params:oauth:grant-type:jwt-bearer" or claims is None:
                self._send(400, {"error": "invalid_grant", "error_description": "Invalid JWT Signature."})
                return
            with authority.lock:
                authority.granted.append({"provider": "google", **claims})
            self._send(200, {"access_token": authority.issue(), "expires_in": int(authority.lifetime),
                             "token_type": "Bearer"})
        else:
            self._send(404, {"error": "not_found"})


class _Server(ThreadingHTTPServer):
    daemon_threads = True
    authority: TokenAuthority
    url: str
    fail_with: int = 0  # an HTTP status the Entra token endpoint answers with, if set


class TokenServer:
    """Serves a :class:`TokenAuthority` on 127.0.0.1 (HTTPS with a certificate from ``tls``)."""

    def __init__(self, authority: TokenAuthority, tls: tuple[Path, Path] | None = None):
        self.server = _Server(("127.0.0.1", 0), _Handler)
        self.server.authority = authority
        scheme = "http"
        if tls is not None:
            context = ssl.SSLContext(ssl.PROTOCOL_TLS_SERVER)
            context.load_cert_chain(*tls)
            self.server.socket = context.wrap_socket(self.server.socket, server_side=True)
            scheme = "https"
        self.url = self.server.url = f"{scheme}://127.0.0.1:{self.server.server_address[1]}"
        self.thread = threading.Thread(target=self.server.serve_forever, daemon=True)

    def start(self) -> TokenServer:
        """Serve in a thread."""
        self.thread.start()
        return self

    def fail(self, status: int) -> None:
        """Make the Entra token endpoint answer ``status`` (0: answer normally again)."""
        self.server.fail_with = status

    def stop(self) -> None:
        """Stop serving."""
        self.server.shutdown()
        self.server.server_close()
