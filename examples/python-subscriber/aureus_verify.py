"""Verifier of Aureus Sentinel signed approvals, written from docs/approval-format.md alone.

Pure functions (no I/O): strict base64, strict JSON, RFC 8785 canonical JSON, the key set (with
delegated keys), strict Ed25519 through PyNaCl (libsodium), and the ordered checks of §8. The
Kafka and registry parts live in subscriber.py.
"""
from __future__ import annotations

import base64
import hashlib
import json
import re
from dataclasses import dataclass, field
from decimal import Decimal
from typing import Any, Callable, Iterable, Optional

import nacl.bindings
import nacl.exceptions
import nacl.signing

APPROVAL_PAYLOAD_TYPE = "application/vnd.aureus.approval+json; version=1"
DELEGATION_PAYLOAD_TYPE = "application/vnd.aureus.key-delegation+json; version=1"
MAX_PAYLOAD_BYTES = 4000
MAX_SAFE_INTEGER = 2**53 - 1
MAX_DELEGATION_MS = 24 * 3_600_000
DEFAULT_CLOCK_SKEW_MS = 30_000
DEFAULT_MAX_TTL_MS = 900_000

# Ed25519 constants (RFC 8032).
L = 2**252 + 27742317777372353535851937790883648493
P = 2**255 - 19
SMALL_ORDER_ENCODINGS = {
    bytes.fromhex(h)
    for h in (
        "0100000000000000000000000000000000000000000000000000000000000000",
        "ecffffffffffffffffffffffffffffffffffffffffffffffffffffffffffff7f",
        "0000000000000000000000000000000000000000000000000000000000000000",
        "0000000000000000000000000000000000000000000000000000000000000080",
        "c7176a703d4dd84fba3c0b760d10670f2a2053fa2c39ccc64ec7fd7792ac037a",
        "c7176a703d4dd84fba3c0b760d10670f2a2053fa2c39ccc64ec7fd7792ac03fa",
        "26e8958fc2b227b045c3f489f2ef98f0d5dfac05d3c63339b13802886d53fc05",
        "26e8958fc2b227b045c3f489f2ef98f0d5dfac05d3c63339b13802886d53fc85",
    )
}

CHANNELS = ("web", "telegram", "discord", "slack", "http")
ACTION_TYPES = ("transfer", "message_send", "command_run", "tool_call")
BASES = ("policy_allow", "human_approval")
RISK_TIERS = ("low", "medium", "high")
KEY_STATUSES = ("active", "retired", "revoked")
KEY_ORIGINS = ("local", "kms", "kms-delegated")

_B64_CHARS = re.compile(r"[A-Za-z0-9+/_-]*={0,2}")
_B64URL_NOPAD = re.compile(r"[A-Za-z0-9_-]*")
_KEY_ID = re.compile(r"[A-Za-z0-9_-]{43}")
_DIGEST = re.compile(r"sha256:[0-9a-f]{64}")
_NONCE = re.compile(r"[A-Za-z0-9_-]{22,86}")


# ---------------------------------------------------------------------------------------------
# Encodings (§2)

def decode_base64_strict(text: str) -> Optional[bytes]:
    """Standard or URL-safe alphabet (never mixed), optional but correct padding, zero trailing bits."""
    if not isinstance(text, str) or not _B64_CHARS.fullmatch(text):
        return None
    has_std = "+" in text or "/" in text
    has_url = "-" in text or "_" in text
    if has_std and has_url:
        return None
    body = text.rstrip("=")
    padding = len(text) - len(body)
    if len(body) % 4 == 1 or (padding > 0 and (len(body) + padding) % 4 != 0):
        return None
    url_body = body.replace("+", "-").replace("/", "_")
    try:
        data = base64.urlsafe_b64decode(url_body + "=" * (-len(url_body) % 4))
    except ValueError:
        return None
    if base64.urlsafe_b64encode(data).decode("ascii").rstrip("=") != url_body:
        return None  # non-zero unused trailing bits
    return data


def decode_base64url_strict(text: str) -> Optional[bytes]:
    """Unpadded base64url (key ids, JWK x): the one canonical text of the bytes."""
    if not isinstance(text, str) or not _B64URL_NOPAD.fullmatch(text) or len(text) % 4 == 1:
        return None
    data = base64.urlsafe_b64decode(text + "=" * (-len(text) % 4))
    return data if base64.urlsafe_b64encode(data).decode("ascii").rstrip("=") == text else None


def b64url(data: bytes) -> str:
    return base64.urlsafe_b64encode(data).decode("ascii").rstrip("=")


# ---------------------------------------------------------------------------------------------
# Strict JSON (RFC 8259, no duplicate members, no lone surrogates, finite numbers, depth <= 32)

class StrictJsonError(ValueError):
    pass


def _no_duplicates(pairs: list) -> dict:
    out: dict = {}
    for key, value in pairs:
        if key in out:
            raise StrictJsonError(f'duplicate member "{key}"')
        out[key] = value
    return out


def _finite_float(text: str) -> float:
    value = float(text)
    if value in (float("inf"), float("-inf")):
        raise StrictJsonError("number out of the IEEE-754 double range")
    return value


def _reject_constant(name: str) -> Any:
    raise StrictJsonError(f"{name} is not JSON")


def _check_tree(value: Any, depth: int = 0) -> None:
    if isinstance(value, str):
        try:
            value.encode("utf-8")
        except UnicodeEncodeError:
            raise StrictJsonError("lone surrogate in string") from None
    elif isinstance(value, dict):
        if depth + 1 > 32:
            raise StrictJsonError("nesting deeper than 32")
        for key, item in value.items():
            _check_tree(key, depth + 1)
            _check_tree(item, depth + 1)
    elif isinstance(value, list):
        if depth + 1 > 32:
            raise StrictJsonError("nesting deeper than 32")
        for item in value:
            _check_tree(item, depth + 1)


def parse_strict_json(data: bytes) -> Any:
    """Raises StrictJsonError for anything JSON parsers could read differently."""
    try:
        text = data.decode("utf-8")  # strict: invalid UTF-8 raises
    except UnicodeDecodeError as error:
        raise StrictJsonError(f"invalid UTF-8: {error}") from None
    if text.startswith("\ufeff"):
        raise StrictJsonError("byte-order mark")
    try:
        value = json.loads(text, object_pairs_hook=_no_duplicates, parse_float=_finite_float, parse_constant=_reject_constant)
    except StrictJsonError:
        raise
    except (ValueError, RecursionError) as error:
        raise StrictJsonError(str(error)) from None
    _check_tree(value)
    return value


# ---------------------------------------------------------------------------------------------
# RFC 8785 (JCS)

class CanonicalizationError(ValueError):
    pass


def _es_number(value: float) -> str:
    """ECMAScript Number::toString of a finite double (what RFC 8785 prescribes)."""
    if value == 0:
        return "0"
    if value.is_integer() and abs(value) <= MAX_SAFE_INTEGER:
        return str(int(value))
    sign = "-" if value < 0 else ""
    digits_tuple, exponent = Decimal(repr(abs(value))).normalize().as_tuple()[1:]
    digits = "".join(map(str, digits_tuple))
    k = len(digits)
    n = exponent + k  # value = 0.digits * 10^n
    if k <= n <= 21:
        return sign + digits + "0" * (n - k)
    if 0 < n <= 21:
        return sign + digits[:n] + "." + digits[n:]
    if -6 < n <= 0:
        return sign + "0." + "0" * (-n) + digits
    e = n - 1
    mantissa = digits if k == 1 else digits[0] + "." + digits[1:]
    return f"{sign}{mantissa}e{'+' if e > 0 else '-'}{abs(e)}"


def canonicalize(value: Any) -> str:
    if value is None:
        return "null"
    if value is True:
        return "true"
    if value is False:
        return "false"
    if isinstance(value, int):
        if abs(value) > MAX_SAFE_INTEGER:
            raise CanonicalizationError("integer outside the IEEE-754 safe range")
        return str(value)
    if isinstance(value, float):
        if value != value or value in (float("inf"), float("-inf")):
            raise CanonicalizationError("non-finite number")
        if value.is_integer() and abs(value) > MAX_SAFE_INTEGER:
            raise CanonicalizationError("integer outside the IEEE-754 safe range")
        return _es_number(value)
    if isinstance(value, str):
        try:
            value.encode("utf-8")
        except UnicodeEncodeError:
            raise CanonicalizationError("lone surrogate in string") from None
        return json.dumps(value, ensure_ascii=False)
    if isinstance(value, (list, tuple)):
        return "[" + ",".join(canonicalize(v) for v in value) + "]"
    if isinstance(value, dict):
        keys = sorted(value.keys(), key=lambda k: k.encode("utf-16-be"))
        return "{" + ",".join(json.dumps(k, ensure_ascii=False) + ":" + canonicalize(value[k]) for k in keys) + "}"
    raise CanonicalizationError(f"not JSON data: {type(value).__name__}")


def sha256_tagged(data: bytes) -> str:
    return "sha256:" + hashlib.sha256(data).hexdigest()


def action_digest(action: dict) -> str:
    return sha256_tagged(canonicalize(action).encode("utf-8"))


def pae(payload_type: str, payload: bytes) -> bytes:
    t = payload_type.encode("utf-8")
    return b"DSSEv1 " + str(len(t)).encode() + b" " + t + b" " + str(len(payload)).encode() + b" " + payload


# ---------------------------------------------------------------------------------------------
# Ed25519, strict (§7)

def _le(data: bytes) -> int:
    return int.from_bytes(data, "little")


def is_canonical_point_encoding(point: bytes) -> bool:
    if len(point) != 32:
        return False
    y = _le(point[:31] + bytes([point[31] & 0x7F]))
    sign = (point[31] & 0x80) != 0
    return y < P and not (sign and y in (1, P - 1))


def signature_problem(sig: bytes) -> Optional[str]:
    """None, "invalid" (length) or "noncanonical" (S >= L, R non-canonical or of small order)."""
    if len(sig) != 64:
        return "invalid"
    if _le(sig[32:]) >= L:
        return "noncanonical"
    r = sig[:32]
    if not is_canonical_point_encoding(r) or r in SMALL_ORDER_ENCODINGS:
        return "noncanonical"
    return None


def verify_strict(public_key: bytes, message: bytes, sig: bytes) -> str:
    """ "ok", "invalid" or "noncanonical". libsodium's verify is strict; the checks above give the codes."""
    problem = signature_problem(sig)
    if problem is not None:
        return problem
    try:
        nacl.signing.VerifyKey(public_key).verify(message, sig)
        return "ok"
    except nacl.exceptions.BadSignatureError:
        return "invalid"


def public_key_problem(x: bytes) -> Optional[str]:
    if len(x) != 32:
        return "length"
    if not is_canonical_point_encoding(x):
        return "not canonical"
    # libsodium: on the curve, canonical, in the prime-order subgroup, not of small order.
    if not nacl.bindings.crypto_core_ed25519_is_valid_point(x):
        return "not a valid prime-order point"
    return None


def key_id_of(x: bytes) -> str:
    """RFC 7638 thumbprint of the OKP JWK."""
    jwk = '{"crv":"Ed25519","kty":"OKP","x":"' + b64url(x) + '"}'
    return b64url(hashlib.sha256(jwk.encode("ascii")).digest())


# ---------------------------------------------------------------------------------------------
# Envelopes

@dataclass
class Envelope:
    payload_type: str
    payload: bytes
    signatures: list  # [(keyid, sig)]


def envelope_from_json(value: Any) -> Envelope:
    if not isinstance(value, dict):
        raise ValueError("the envelope is not a JSON object")
    payload_type, payload, signatures = value.get("payloadType"), value.get("payload"), value.get("signatures")
    if not isinstance(payload_type, str):
        raise ValueError("payloadType is not a string")
    if not isinstance(payload, str):
        raise ValueError("payload is not a string")
    payload_bytes = decode_base64_strict(payload)
    if payload_bytes is None:
        raise ValueError("payload is not valid base64")
    if not isinstance(signatures, list):
        raise ValueError("signatures is not an array")
    sigs = []
    for i, entry in enumerate(signatures):
        if not isinstance(entry, dict):
            raise ValueError(f"signatures[{i}] is not an object")
        keyid = entry.get("keyid", "")
        if keyid is None:
            keyid = ""
        if not isinstance(keyid, str):
            raise ValueError(f"signatures[{i}].keyid is not a string")
        if not isinstance(entry.get("sig"), str):
            raise ValueError(f"signatures[{i}].sig is not a string")
        sig = decode_base64_strict(entry["sig"])
        if sig is None:
            raise ValueError(f"signatures[{i}].sig is not valid base64")
        sigs.append((keyid, sig))
    return Envelope(payload_type, payload_bytes, sigs)


# ---------------------------------------------------------------------------------------------
# Keys (§6)

class KeyError_(ValueError):
    pass


@dataclass
class KeyRecord:
    key_id: str
    public_key: bytes
    status: str
    not_before: int
    not_after: int
    revoked_at: Optional[int]
    created_at: int
    origin: str
    certificate: Optional[Envelope]
    parent_key_id: Optional[str] = None


def _millis(value: Any) -> bool:
    return isinstance(value, int) and not isinstance(value, bool) and 0 <= value <= MAX_SAFE_INTEGER


def key_record_from_jwk(j: Any) -> KeyRecord:
    """A JWKS entry (GET /public-key, test vectors) as a record (shape only; register_key checks the rest)."""
    if not isinstance(j, dict):
        raise KeyError_("JWK: not an object")
    if j.get("kty") != "OKP" or j.get("crv") != "Ed25519":
        raise KeyError_("JWK: kty must be OKP and crv Ed25519")
    if j.get("alg") not in (None, "EdDSA", "Ed25519") or j.get("use") not in (None, "sig"):
        raise KeyError_("JWK: alg must be EdDSA and use sig")
    x = decode_base64url_strict(j.get("x"))
    if not isinstance(j.get("kid"), str) or x is None or len(x) != 32:
        raise KeyError_("JWK: kid must be a string and x 32 bytes of unpadded base64url")
    for name in ("notBefore", "notAfter", "createdAt"):
        if not _millis(j.get(name)):
            raise KeyError_(f"JWK: {name} must be epoch milliseconds")
    revoked = j.get("revokedAt")
    if revoked is not None and not _millis(revoked):
        raise KeyError_("JWK: revokedAt must be epoch milliseconds")
    certificate = envelope_from_json(j["certificate"]) if j.get("certificate") is not None else None
    return KeyRecord(j["kid"], x, j.get("status"), j["notBefore"], j["notAfter"], revoked, j["createdAt"], j.get("origin"), certificate)


def key_record_from_avro(r: dict) -> KeyRecord:
    """A SigningKeyPublished record from the sentinel.signing-keys topic."""
    if r.get("algorithm") != "ed25519":
        raise KeyError_(f"unsupported key algorithm {r.get('algorithm')!r}")
    cert = r.get("certificate")
    certificate = None
    if cert is not None:
        certificate = Envelope(cert["payloadType"], bytes(cert["payload"]), [(s["keyid"], bytes(s["sig"])) for s in cert["signatures"]])
    return KeyRecord(r["keyId"], bytes(r["publicKey"]), r["status"], r["notBefore"], r["notAfter"], r.get("revokedAt"), r["createdAt"], r["origin"], certificate)


def _decode_certificate(data: bytes) -> dict:
    try:
        c = parse_strict_json(data)
    except StrictJsonError as error:
        raise KeyError_(f"certificate is not strict JSON: {error}") from None
    members = ("delegatedKeyId", "publicKey", "parentKeyId", "issuedAt", "notBefore", "notAfter", "purpose")
    if not isinstance(c, dict) or set(c.keys()) != set(members):
        raise KeyError_("certificate members must be exactly " + ", ".join(members))
    if not isinstance(c["delegatedKeyId"], str) or not _KEY_ID.fullmatch(c["delegatedKeyId"]):
        raise KeyError_("delegatedKeyId is not a key id")
    if not isinstance(c["parentKeyId"], str) or not _KEY_ID.fullmatch(c["parentKeyId"]):
        raise KeyError_("parentKeyId is not a key id")
    raw = decode_base64url_strict(c["publicKey"]) if isinstance(c["publicKey"], str) else None
    if raw is None or len(raw) != 32:
        raise KeyError_("publicKey is not 32 bytes of unpadded base64url")
    if key_id_of(raw) != c["delegatedKeyId"]:
        raise KeyError_("delegatedKeyId is not the id of publicKey")
    if not all(_millis(c[k]) for k in ("issuedAt", "notBefore", "notAfter")):
        raise KeyError_("times must be epoch milliseconds")
    if c["purpose"] != "approval-signing":
        raise KeyError_('purpose must be "approval-signing"')
    if c["notBefore"] < c["issuedAt"] or c["notAfter"] <= c["notBefore"]:
        raise KeyError_("window must satisfy issuedAt <= notBefore < notAfter")
    if c["notAfter"] - c["notBefore"] > MAX_DELEGATION_MS:
        raise KeyError_("window is longer than 24 h")
    if canonicalize(c).encode("utf-8") != data:
        raise KeyError_("certificate bytes are not canonical")
    c["_raw"] = raw
    return c


SEVERITY = {"active": 0, "retired": 1, "revoked": 2}


@dataclass
class KeyRegistry:
    keys: dict = field(default_factory=dict)  # kid -> KeyRecord

    def register(self, record: KeyRecord) -> None:
        """Validates and adds (or merges) a record; raises KeyError_ with the reason."""
        kid = record.key_id
        if not isinstance(kid, str) or not _KEY_ID.fullmatch(kid):
            raise KeyError_("keyId is not a key id (43 base64url characters)")
        problem = public_key_problem(record.public_key)
        if problem is not None:
            raise KeyError_(f"public key is not acceptable: {problem}")
        if key_id_of(record.public_key) != kid:
            raise KeyError_("keyId is not the RFC 7638 thumbprint of the public key")
        if record.status not in KEY_STATUSES:
            raise KeyError_("status must be active, retired or revoked")
        if not all(_millis(v) for v in (record.not_before, record.not_after, record.created_at)):
            raise KeyError_("times must be epoch milliseconds")
        if record.not_after < record.not_before:
            raise KeyError_("notAfter is before notBefore")
        if record.revoked_at is not None and not _millis(record.revoked_at):
            raise KeyError_("revokedAt must be epoch milliseconds")
        if (record.status == "revoked") != (record.revoked_at is not None):
            raise KeyError_("revokedAt is set exactly when status is revoked")
        if record.origin not in KEY_ORIGINS:
            raise KeyError_("unknown origin")
        if (record.origin == "kms-delegated") != (record.certificate is not None):
            raise KeyError_("a certificate is present exactly for kms-delegated keys")
        if record.certificate is not None:
            record.parent_key_id = self._check_delegation(record)
        existing = self.keys.get(kid)
        if existing is not None:
            if existing.origin != record.origin:
                raise KeyError_("a record with this key id is registered with another origin")
            status = record.status if SEVERITY[record.status] > SEVERITY[existing.status] else existing.status
            revoked = [t for t in (existing.revoked_at, record.revoked_at) if t is not None]
            existing.status = status
            existing.revoked_at = min(revoked) if status == "revoked" and revoked else None
            existing.not_after = max(existing.not_before, min(existing.not_after, record.not_after))
            return
        self.keys[kid] = record

    def _check_delegation(self, record: KeyRecord) -> str:
        cert = record.certificate
        assert cert is not None
        parent_id = cert.signatures[0][0] if cert.signatures else ""
        parent = self.keys.get(parent_id)
        if parent is None:
            raise KeyError_("delegated key: its parent key is not registered")
        if parent.parent_key_id is not None:
            raise KeyError_("delegated key: a delegated key cannot certify another key")
        if cert.payload_type != DELEGATION_PAYLOAD_TYPE or len(cert.signatures) != 1 or cert.signatures[0][0] != parent_id:
            raise KeyError_("delegated key: malformed certificate envelope")
        c = _decode_certificate(cert.payload)
        if c["parentKeyId"] != parent_id:
            raise KeyError_("delegated key: the certificate names another parent key")
        if verify_strict(parent.public_key, pae(cert.payload_type, cert.payload), cert.signatures[0][1]) != "ok":
            raise KeyError_("delegated key: the parent's signature does not verify")
        if c["delegatedKeyId"] != record.key_id or c["_raw"] != record.public_key:
            raise KeyError_("delegated key: the certificate is for another key")
        if c["notBefore"] != record.not_before or record.not_after > c["notAfter"]:
            raise KeyError_("delegated key: the record's window is not the certificate's")
        if not (parent.not_before <= c["issuedAt"] <= parent.not_after):
            raise KeyError_("delegated key: certificate issued outside the parent's validity window")
        return parent_id

    def register_all(self, records: Iterable[KeyRecord]) -> list:
        """Registers records in any order (parents first); returns [(record, reason)] refused."""
        pending = sorted(records, key=lambda r: r.certificate is not None)
        while True:
            failed = []
            for record in pending:
                try:
                    self.register(record)
                except KeyError_ as error:
                    failed.append((record, str(error)))
            if not failed or len(failed) == len(pending):
                return failed
            pending = [r for r, _ in failed]

    def is_revoked(self, record: KeyRecord) -> bool:
        if record.status == "revoked":
            return True
        if record.parent_key_id is None:
            return False
        parent = self.keys.get(record.parent_key_id)
        return parent is None or parent.status == "revoked"


def registry_from_jwks(document: dict) -> KeyRegistry:
    registry = KeyRegistry()
    refused = registry.register_all(key_record_from_jwk(j) for j in document["keys"])
    if refused:
        raise KeyError_("; ".join(f"{r.key_id}: {why}" for r, why in refused))
    return registry


# ---------------------------------------------------------------------------------------------
# The payload schema (§4)

class Malformed(ValueError):
    pass


def _utf16_len(text: str) -> int:
    return len(text.encode("utf-16-le")) // 2


def _has_control(text: str) -> bool:
    return any(ord(c) < 0x20 or 0x7F <= ord(c) <= 0x9F for c in text)


def _obj(value: Any, path: str, keys: tuple) -> dict:
    if not isinstance(value, dict):
        raise Malformed(f"{path}: must be an object")
    for key in value:
        if key not in keys:
            raise Malformed(f'{path}: unknown member "{key}"')
    for key in keys:
        if key not in value:
            raise Malformed(f'{path}: missing member "{key}"')
    return value


def _text(value: Any, path: str) -> str:
    if not isinstance(value, str):
        raise Malformed(f"{path}: must be a string")
    if not 1 <= _utf16_len(value) <= 200:
        raise Malformed(f"{path}: must be 1..200 characters")
    if _has_control(value):
        raise Malformed(f"{path}: must not contain control characters")
    return value


def _ms(value: Any, path: str) -> int:
    # JSON numbers: 1500 and 1.5e3 are the same number (the canonical check tells them apart).
    if isinstance(value, float) and value.is_integer():
        value = int(value)
    if not _millis(value):
        raise Malformed(f"{path}: must be a non-negative integer of epoch milliseconds")
    return value


def _digest(value: Any, path: str) -> str:
    if not isinstance(value, str) or not _DIGEST.fullmatch(value):
        raise Malformed(f'{path}: must be "sha256:" and 64 lower-case hex digits')
    return value


def _one_of(value: Any, path: str, allowed: tuple) -> str:
    if not isinstance(value, str) or value not in allowed:
        raise Malformed(f"{path}: must be one of {', '.join(allowed)}")
    return value


def _principal(value: Any, path: str, extra: tuple = ()) -> dict:
    o = _obj(value, path, ("userId", "channel", "channelUserId") + extra)
    _text(o["userId"], f"{path}.userId")
    _one_of(o["channel"], f"{path}.channel", CHANNELS)
    _text(o["channelUserId"], f"{path}.channelUserId")
    return o


def _approver(value: Any, path: str) -> dict:
    o = _principal(value, path, ("responseId", "respondedAt", "evidence"))
    _text(o["responseId"], f"{path}.responseId")
    _ms(o["respondedAt"], f"{path}.respondedAt")
    e = _obj(o["evidence"], f"{path}.evidence", ("platform", "authenticatedBy", "platformUserId", "platformMessageId", "callbackDigest", "receivedAt"))
    _one_of(e["platform"], f"{path}.evidence.platform", CHANNELS)
    _text(e["authenticatedBy"], f"{path}.evidence.authenticatedBy")
    _text(e["platformUserId"], f"{path}.evidence.platformUserId")
    if e["platformMessageId"] is not None:
        _text(e["platformMessageId"], f"{path}.evidence.platformMessageId")
    if e["callbackDigest"] is not None:
        _digest(e["callbackDigest"], f"{path}.evidence.callbackDigest")
    _ms(e["receivedAt"], f"{path}.evidence.receivedAt")
    return o


def _list(value: Any, path: str, limit: int, item: Callable[[Any, str], Any]) -> list:
    if not isinstance(value, list):
        raise Malformed(f"{path}: must be an array")
    if len(value) > limit:
        raise Malformed(f"{path}: must have at most {limit} items")
    return [item(v, f"{path}[{i}]") for i, v in enumerate(value)]


PAYLOAD_KEYS = (
    "approvalId", "intentId", "decisionId", "actionType", "actionDigest", "basis", "requester", "approvers",
    "riskTier", "ruleIds", "policyVersion", "policyDigest", "issuedAt", "notBefore", "expiresAt", "nonce",
    "audience", "issuer",
)


def validate_payload(value: Any) -> dict:
    o = _obj(value, "$", PAYLOAD_KEYS)
    for name in ("approvalId", "intentId", "decisionId"):
        _text(o[name], f"$.{name}")
    _one_of(o["actionType"], "$.actionType", ACTION_TYPES)
    _digest(o["actionDigest"], "$.actionDigest")
    _one_of(o["basis"], "$.basis", BASES)
    _principal(o["requester"], "$.requester")
    approvers = _list(o["approvers"], "$.approvers", 16, _approver)
    _one_of(o["riskTier"], "$.riskTier", RISK_TIERS)
    _list(o["ruleIds"], "$.ruleIds", 64, _text)
    _text(o["policyVersion"], "$.policyVersion")
    _digest(o["policyDigest"], "$.policyDigest")
    issued, not_before, expires = _ms(o["issuedAt"], "$.issuedAt"), _ms(o["notBefore"], "$.notBefore"), _ms(o["expiresAt"], "$.expiresAt")
    if not isinstance(o["nonce"], str) or not _NONCE.fullmatch(o["nonce"]):
        raise Malformed("$.nonce: must be 22..86 base64url characters (16..64 bytes)")
    _text(o["audience"], "$.audience")
    _text(o["issuer"], "$.issuer")
    if not_before < issued:
        raise Malformed("$.notBefore: must not be before issuedAt")
    if expires <= not_before:
        raise Malformed("$.expiresAt: must be after notBefore")
    if o["basis"] == "policy_allow" and approvers:
        raise Malformed("$.approvers: must be empty when basis is policy_allow")
    if o["basis"] == "human_approval" and not approvers:
        raise Malformed("$.approvers: must name at least one approver when basis is human_approval")
    seen = set()
    for i, a in enumerate(approvers):
        if a["userId"] in seen:
            raise Malformed(f"$.approvers[{i}].userId: approvers must be distinct users")
        seen.add(a["userId"])
    return {**o, "issuedAt": issued, "notBefore": not_before, "expiresAt": expires}


# ---------------------------------------------------------------------------------------------
# Verification (§8)

@dataclass
class Verdict:
    ok: bool
    code: Optional[str] = None
    check: Optional[str] = None
    reason: Optional[str] = None
    key_id: Optional[str] = None
    payload: Optional[dict] = None

    def as_dict(self) -> dict:
        out = {"ok": self.ok, "keyId": self.key_id}
        if not self.ok:
            out.update(code=self.code, check=self.check, reason=self.reason)
        return out


@dataclass
class VerifyInput:
    registry: KeyRegistry
    now: int
    audience: str
    action: dict
    intent_id: str
    decision_id: str
    approval_id: Optional[str] = None
    issuers: Optional[list] = None
    clock_skew_ms: int = DEFAULT_CLOCK_SKEW_MS
    max_ttl_ms: int = DEFAULT_MAX_TTL_MS
    seen: Callable[[str], bool] = lambda _id: False


def _refuse(check: str, code: str, reason: str, key_id: Optional[str] = None, payload: Optional[dict] = None) -> Verdict:
    return Verdict(False, code, check, reason, key_id, payload)


def verify_approval(inp: VerifyInput, envelope: Envelope) -> Verdict:
    """The checks of §8, in order; the first failure is the verdict."""
    # 1 envelope
    if len(envelope.payload) > MAX_PAYLOAD_BYTES:
        return _refuse("envelope", "SNT_APPROVAL_MALFORMED", f"payload is {len(envelope.payload)} bytes, over {MAX_PAYLOAD_BYTES}")
    if len(envelope.signatures) != 1:
        return _refuse("envelope", "SNT_APPROVAL_MALFORMED", f"an approval carries exactly one signature, found {len(envelope.signatures)}")
    keyid, sig = envelope.signatures[0]
    if not isinstance(keyid, str) or keyid == "":
        return _refuse("envelope", "SNT_APPROVAL_MALFORMED", "signatures[0].keyid is empty")
    # 2 payload_type
    if envelope.payload_type != APPROVAL_PAYLOAD_TYPE:
        return _refuse("payload_type", "SNT_APPROVAL_PAYLOAD_TYPE", f'payloadType "{envelope.payload_type}"', keyid)
    # 3 key
    key = inp.registry.keys.get(keyid)
    if key is None:
        return _refuse("key", "SNT_APPROVAL_KEY_UNKNOWN", "the key id is not in the key set", keyid)
    if inp.registry.is_revoked(key):
        return _refuse("key", "SNT_APPROVAL_KEY_REVOKED", "the signing key (or its parent) is revoked", keyid)
    # 4 signature, over the exact bytes, before parsing
    result = verify_strict(key.public_key, pae(envelope.payload_type, envelope.payload), sig)
    if result != "ok":
        code = "SNT_APPROVAL_SIGNATURE_NONCANONICAL" if result == "noncanonical" else "SNT_APPROVAL_SIGNATURE_INVALID"
        return _refuse("signature", code, f"the signature is {result}", keyid)
    # 5 payload
    try:
        parsed = parse_strict_json(envelope.payload)
        payload = validate_payload(parsed)
        canonical = canonicalize(parsed).encode("utf-8")
    except (StrictJsonError, Malformed, CanonicalizationError) as error:
        return _refuse("payload", "SNT_APPROVAL_MALFORMED", str(error), keyid)
    if canonical != envelope.payload:
        return _refuse("payload", "SNT_APPROVAL_PAYLOAD_NONCANONICAL", "payload bytes are not RFC 8785 canonical", keyid, payload)
    # 6 key_validity
    if not key.not_before <= payload["issuedAt"] <= key.not_after:
        return _refuse("key_validity", "SNT_APPROVAL_KEY_NOT_VALID", "issuedAt is outside the key's window", keyid, payload)
    # 7 audience, 8 issuer
    if payload["audience"] != inp.audience:
        return _refuse("audience", "SNT_APPROVAL_AUDIENCE", f'addressed to "{payload["audience"]}"', keyid, payload)
    if inp.issuers is not None and payload["issuer"] not in inp.issuers:
        return _refuse("issuer", "SNT_APPROVAL_ISSUER", f'issuer "{payload["issuer"]}" is not accepted', keyid, payload)
    # 9 time
    if payload["expiresAt"] - payload["notBefore"] > inp.max_ttl_ms:
        return _refuse("time", "SNT_APPROVAL_TTL_TOO_LONG", "lifetime over the maximum", keyid, payload)
    if inp.now < payload["notBefore"] - inp.clock_skew_ms:
        return _refuse("time", "SNT_APPROVAL_NOT_YET_VALID", "not valid yet", keyid, payload)
    if inp.now >= payload["expiresAt"] + inp.clock_skew_ms:
        return _refuse("time", "SNT_APPROVAL_EXPIRED", "expired", keyid, payload)
    # 10 binding: the digest is recomputed from the action about to run
    try:
        digest = action_digest(inp.action)
    except CanonicalizationError:
        digest = None
    if digest != payload["actionDigest"] or inp.action.get("type") != payload["actionType"]:
        return _refuse("binding", "SNT_APPROVAL_DIGEST_MISMATCH", "signed for another action", keyid, payload)
    if payload["intentId"] != inp.intent_id or payload["decisionId"] != inp.decision_id:
        return _refuse("binding", "SNT_APPROVAL_BINDING_MISMATCH", "signed for another intent or decision", keyid, payload)
    if inp.approval_id is not None and payload["approvalId"] != inp.approval_id:
        return _refuse("binding", "SNT_APPROVAL_BINDING_MISMATCH", "the event carries another approval id", keyid, payload)
    # 11 single_use
    if inp.seen(payload["approvalId"]):
        return _refuse("single_use", "SNT_APPROVAL_REPLAYED", "approval id already used", keyid, payload)
    return Verdict(True, key_id=keyid, payload=payload)


def verify_approval_json(inp: VerifyInput, envelope_json: Any) -> Verdict:
    try:
        envelope = envelope_from_json(envelope_json)
    except ValueError as error:
        return _refuse("envelope", "SNT_APPROVAL_MALFORMED", str(error))
    return verify_approval(inp, envelope)
