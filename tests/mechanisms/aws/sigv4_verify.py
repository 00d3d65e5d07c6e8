"""Verifies AWS SigV4 signatures with botocore, independently of the Rust signer.

Started once per fixture with the known credentials as JSON in argv[1]
({"<access key id>": "<secret>"}). Reads one JSON request per line on stdin
({"method", "url", "headers": [[name, value]...], "body_b64"}) and answers one JSON line:
{"ok": true, "region": ..., "service": ..., "access_key": ...} or {"ok": false, "error": ...}.
"""
import base64
import json
import re
import sys

from botocore.auth import SigV4Auth
from botocore.awsrequest import AWSRequest
from botocore.credentials import Credentials

SECRETS = json.loads(sys.argv[1])
AUTH = re.compile(
    r"^AWS4-HMAC-SHA256 Credential=([^/]+)/(\d{8})/([^/]+)/([^/]+)/aws4_request, "
    r"SignedHeaders=([a-z0-9;\-]+), Signature=([0-9a-f]{64})$"
)


def verify(req):
    headers = {}
    for name, value in req["headers"]:
        headers.setdefault(name.lower(), []).append(value)
    auth = headers.get("authorization", [""])[0]
    m = AUTH.match(auth)
    if not m:
        return {"ok": False, "error": "malformed Authorization header: %r" % auth}
    akid, date, region, service, signed, signature = m.groups()
    if akid not in SECRETS:
        return {"ok": False, "error": "unknown access key %s" % akid}
    amz_date = headers.get("x-amz-date", [""])[0]
    if not amz_date.startswith(date):
        return {"ok": False, "error": "x-amz-date %r does not match scope date %s" % (amz_date, date)}
    names = signed.split(";")
    for required in ("host", "x-amz-date"):
        if required not in names:
            return {"ok": False, "error": "%s is not signed" % required}
    if "x-amz-security-token" in headers and "x-amz-security-token" not in names:
        return {"ok": False, "error": "x-amz-security-token is not signed"}
    body = base64.b64decode(req["body_b64"])
    signed_headers = {}
    for n in names:
        if n not in headers:
            return {"ok": False, "error": "signed header %s is missing" % n}
        signed_headers[n] = ",".join(v.strip() for v in headers[n])
    request = AWSRequest(method=req["method"], url=req["url"], data=body, headers=signed_headers)
    request.context["timestamp"] = amz_date
    token = headers.get("x-amz-security-token", [None])[0]
    signer = SigV4Auth(Credentials(akid, SECRETS[akid], token), service, region)
    # Sign exactly the headers the client listed (botocore would pick its own set).
    signer.headers_to_sign = lambda r: _only(r, names)
    canonical = signer.canonical_request(request)
    string_to_sign = signer.string_to_sign(request, canonical)
    expected = signer.signature(string_to_sign, request)
    if expected != signature:
        return {"ok": False, "error": "signature mismatch", "canonical_request": canonical}
    return {"ok": True, "region": region, "service": service, "access_key": akid,
            "session_token": token}


def _only(request, names):
    from botocore.awsrequest import HTTPHeaders
    out = HTTPHeaders()
    for n in names:
        out[n] = request.headers[n]
    return out


for line in sys.stdin:
    try:
        answer = verify(json.loads(line))
    except Exception as e:  # noqa: BLE001 - report anything as a failed verification
        answer = {"ok": False, "error": "verifier: %r" % e}
    sys.stdout.write(json.dumps(answer) + "\n")
    sys.stdout.flush()
