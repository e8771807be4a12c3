"""Logins and access tokens: the OAuth token endpoint (client credentials, password, JWT
bearer), the legacy SOAP login, and which tokens are alive.

Credentials are random per sandbox run and printed by `env()`; tokens look like real ones
(`00D…!AQ…`). A token the `expire` fault killed stays dead; a new login gets a fresh one.
"""

from __future__ import annotations

import base64
import hashlib
import hmac
import re
import secrets
import threading
import time
from html import escape
from typing import Any
from urllib.parse import parse_qs
from xml.etree import ElementTree

import jwt

from connectors.sandbox.api import Request, Response

MY_DOMAIN = "sandbox.my"
JWT_GRANT = "urn:ietf:params:oauth:grant-type:jwt-bearer"
_INVALID_LOGIN = "Invalid username, password, security token; or user locked out."
_SOAP_FAULT = (
    '<?xml version="1.0" encoding="UTF-8"?><soapenv:Envelope '
    'xmlns:soapenv="http://schemas.xmlsoap.org/soap/envelope/" '
    'xmlns:sf="urn:fault.partner.soap.sforce.com" '
    'xmlns:xsi="http://www.w3.org/2001/XMLSchema-instance"><soapenv:Body><soapenv:Fault>'
    "<faultcode>sf:{code}</faultcode><faultstring>{code}: {message}</faultstring><detail>"
    '<sf:{kind} xsi:type="sf:{kind}"><sf:exceptionCode>{code}</sf:exceptionCode>'
    "<sf:exceptionMessage>{message}</sf:exceptionMessage></sf:{kind}></detail>"
    "</soapenv:Fault></soapenv:Body></soapenv:Envelope>"
)
_SOAP_LOGIN = (
    '<?xml version="1.0" encoding="UTF-8"?><soapenv:Envelope '
    'xmlns:soapenv="http://schemas.xmlsoap.org/soap/envelope/" '
    'xmlns="urn:partner.soap.sforce.com" xmlns:xsi="http://www.w3.org/2001/XMLSchema-instance">'
    "<soapenv:Body><loginResponse><result>"
    "<metadataServerUrl>{base}/services/Soap/m/{version}/{org}</metadataServerUrl>"
    "<passwordExpired>false</passwordExpired><sandbox>true</sandbox>"
    "<serverUrl>{base}/services/Soap/u/{version}/{org}</serverUrl>"
    "<sessionId>{token}</sessionId><userId>{user}</userId><userInfo>"
    "<currencySymbol>$</currencySymbol><organizationId>{org}</organizationId>"
    "<organizationMultiCurrency>true</organizationMultiCurrency>"
    "<organizationName>Pipelines ETL Sandbox</organizationName>"
    "<userEmail>{email}</userEmail><userFullName>Integration User</userFullName>"
    "<userId>{user}</userId><userName>{username}</userName>"
    "<userTimeZone>Etc/UTC</userTimeZone></userInfo></result></loginResponse>"
    "</soapenv:Body></soapenv:Envelope>"
)
_AUDIENCES = (
    "https://login.salesforce.com",
    "https://test.salesforce.com",
    f"https://{MY_DOMAIN}.salesforce.com",
)
_ORG_ID = re.compile(r"<(?:\w+:)?organizationId>([^<]*)<")


def _oauth_error(status: int, error: str, description: str) -> Response:
    """An OAuth error body, `{"error": ..., "error_description": ...}`."""
    return Response.json(status, {"error": error, "error_description": description})


def soap_fault(code: str, message: str, *, kind: str = "LoginFault", status: int = 500) -> Response:
    """A SOAP fault as the partner API sends it (simple-salesforce reads sf:exceptionCode)."""
    body = _SOAP_FAULT.format(code=code, message=escape(message), kind=kind)
    return Response.text(status, body, "text/xml;charset=UTF-8")


class Auth:
    """The org's integration credentials and live tokens; thread-safe."""

    def __init__(self, *, org_id: str, user_id: str) -> None:
        self.org_id = org_id
        self.user_id = user_id
        self.client_id = "3MVG9" + secrets.token_urlsafe(40).replace("-", "A").replace("_", "b")
        self.client_secret = secrets.token_hex(32).upper()
        self.username = "integration@pipelines-etl.sandbox"
        self.password = "Sandbox-" + secrets.token_urlsafe(12)
        self.security_token = secrets.token_urlsafe(18).replace("-", "x").replace("_", "y")
        self.jwt_public_key: str | None = None  # PEM; when set, JWT signatures are checked
        self._lock = threading.Lock()
        self._live: set[str] = set()
        self._dead: set[str] = set()
        self.direct_token = self.issue()

    # -- tokens ----------------------------------------------------------------------------
    def issue(self) -> str:
        """A fresh live token."""
        token = f"{self.org_id[:15]}!AQ{secrets.token_urlsafe(72)}"
        with self._lock:
            self._live.add(token)
        return token

    def is_valid(self, token: str | None) -> bool:
        """Whether `token` is live."""
        with self._lock:
            return token is not None and token in self._live

    def expire(self, token: str | None) -> None:
        """Kill `token` for good (the `expire` fault)."""
        if token is None:
            return
        with self._lock:
            self._live.discard(token)
            self._dead.add(token)

    # -- OAuth -----------------------------------------------------------------------------
    def oauth_token(self, request: Request, *, base_url: str) -> Response:
        """`POST /services/oauth2/token`: the grant types simple-salesforce sends."""
        if request.method != "POST":
            return _oauth_error(400, "invalid_request", "must use HTTP POST")
        form = {k: v[0] for k, v in parse_qs(request.body.decode("utf-8", "replace")).items()}
        grant = form.get("grant_type")
        if grant == "client_credentials":
            client_id, client_secret = self._client(request, form)
            if client_id != self.client_id:
                return _oauth_error(400, "invalid_client_id", "client identifier invalid")
            if not hmac.compare_digest(client_secret or "", self.client_secret):
                return _oauth_error(400, "invalid_client", "invalid client credentials")
        elif grant == "password":
            if form.get("client_id") != self.client_id:
                return _oauth_error(400, "invalid_client_id", "client identifier invalid")
            if not hmac.compare_digest(form.get("client_secret", ""), self.client_secret):
                return _oauth_error(400, "invalid_client", "invalid client credentials")
            password = form.get("password", "")
            if form.get("username") != self.username or password not in (
                self.password,
                self.password + self.security_token,
            ):
                return _oauth_error(400, "invalid_grant", "authentication failure")
        elif grant == JWT_GRANT:
            failure = self._check_assertion(form.get("assertion", ""))
            if failure is not None:
                return failure
        elif grant is None:
            return _oauth_error(400, "unsupported_grant_type", "grant type not supported")
        else:
            return _oauth_error(400, "unsupported_grant_type", "grant type not supported")
        return Response.json(200, self._token_reply(base_url))

    def _client(self, request: Request, form: dict[str, str]) -> tuple[str | None, str | None]:
        """Client id and secret from a Basic header or the form."""
        scheme, _, value = request.headers.get("authorization", "").partition(" ")
        if scheme.lower() == "basic":
            try:
                decoded = base64.b64decode(value.strip()).decode()
            except (ValueError, UnicodeDecodeError):
                return None, None
            client_id, _, secret = decoded.partition(":")
            return client_id, secret
        return form.get("client_id"), form.get("client_secret")

    def _check_assertion(self, assertion: str) -> Response | None:
        """None when the JWT bearer assertion is good, else the OAuth error reply."""
        try:
            if self.jwt_public_key is not None:
                claims: dict[str, Any] = jwt.decode(
                    assertion,
                    self.jwt_public_key,
                    algorithms=["RS256"],
                    options={"verify_aud": False, "verify_exp": False},
                )
            else:
                claims = jwt.decode(assertion, options={"verify_signature": False})
        except jwt.PyJWTError:
            return _oauth_error(400, "invalid_grant", "invalid assertion")
        if claims.get("iss") != self.client_id:
            return _oauth_error(400, "invalid_client_id", "client identifier invalid")
        if claims.get("aud") not in _AUDIENCES:
            return _oauth_error(400, "invalid_grant", "audience is invalid")
        if claims.get("sub") != self.username:
            return _oauth_error(400, "invalid_grant", "user hasn't approved this consumer")
        try:
            expires = float(claims.get("exp"))  # simple-salesforce sends a string
        except (TypeError, ValueError):
            return _oauth_error(400, "invalid_grant", "invalid assertion")
        if expires < time.time():
            return _oauth_error(400, "invalid_grant", "expired authorization code")
        return None

    def _token_reply(self, base_url: str) -> dict[str, str]:
        """The token endpoint's success body, with a fresh token."""
        token = self.issue()
        issued = str(int(time.time() * 1000))
        identity = f"{base_url}/id/{self.org_id}/{self.user_id}"
        signature = base64.b64encode(
            hmac.new(
                self.client_secret.encode(), (identity + issued).encode(), hashlib.sha256
            ).digest()
        ).decode()
        return {
            "access_token": token,
            "instance_url": base_url,
            "id": identity,
            "token_type": "Bearer",
            "issued_at": issued,
            "signature": signature,
            "scope": "api",
        }

    # -- SOAP ------------------------------------------------------------------------------
    def soap_login(self, request: Request, *, base_url: str, version: str) -> Response:
        """`POST /services/Soap/u/{version}`: the partner API's `login()` call."""
        try:
            root = ElementTree.fromstring(request.body)
        except ElementTree.ParseError:
            return soap_fault(
                "INVALID_REQUEST", "Unable to parse the SOAP request", kind="UnexpectedErrorFault"
            )
        texts = {el.tag.rsplit("}", 1)[-1]: (el.text or "") for el in root.iter()}
        if "login" not in texts:
            return soap_fault(
                "INVALID_OPERATION",
                "No operation available for request",
                kind="UnexpectedErrorFault",
            )
        username, password = texts.get("username", ""), texts.get("password", "")
        org_match = _ORG_ID.search(request.body.decode("utf-8", "replace"))
        scoped = org_match is not None and org_match.group(1).strip() in (
            self.org_id,
            self.org_id[:15],
        )
        accepted = {self.password + self.security_token} | ({self.password} if scoped else set())
        if username != self.username or password not in accepted:
            return soap_fault("INVALID_LOGIN", _INVALID_LOGIN)
        body = _SOAP_LOGIN.format(
            base=base_url,
            version=version,
            org=self.org_id,
            token=self.issue(),
            user=self.user_id,
            email="integration@example.com",
            username=self.username,
        )
        return Response.text(200, body, "text/xml;charset=UTF-8")
