# -*- test-case-name: tests.conformance.test_conformance -*-
"""kmipd's own replay runner for the OASIS KMIP conformance vectors (XML test cases).

A vector file holds alternating C{RequestMessage} / C{ResponseMessage} elements.  Each request is
read with kmipd's XML codec (L{kmipd.ttlv.xml}), its placeholders filled in, encoded with the binary
codec and handed to an I{exchange} function (by default kmipd's in-process dispatcher, caller
identity C{conformance}); the binary answer is decoded and compared with the expected response.

The matching rules are a faithful port of the official harness
(C{shared/tools/kmip_conform/kmip_conform.py}, see its README "Matching rules"), so both report the
same pass/fail per vector:

 1. C{ResponseHeader/TimeStamp} and C{$NOW}, C{$NOW+N}, C{$NOW-N}: type only; in requests they
    are sent as the current time +/- N.
 2. Other C{$PLACEHOLDER}s are bound to the server's value on first sight in a response, must match
    later, and are substituted into later requests; a request placeholder never seen in a response
    takes the server's latest value of the same tag.
 3. Literal identifiers (Unique Identifier and friends) are bound like placeholders.
 4. Inherently random values (server-made dates, key material, digests of generated objects,
    Encrypt/Sign/MAC output under generated keys or server IVs, RNG output, nonces...) are checked
    for type only, and bound so later requests can send them back.
 5. C{VendorIdentification}, C{ServerInformation}: type only; C{ResultMessage} ignored (may be
    absent or present); C{ServerCorrelationValue} / C{ClientCorrelationValue} may be added.
 6. Order relaxations for GetAttributes / GetAttributeList, Locate and Query responses (and the
    Attributes of a 2.x Export, which the spec leaves unordered as it does for Get Attributes).
 7. Runs of spaces in C{AttributeName} values are collapsed.
 8. A protocol version the server refuses is a failure, with a clear reason.

Run as a script::

    python -m tests.conformance.runner --dir ../shared/conformance/kmip-1.4/mandatory [--update-expected]

It prints PASS/FAIL per vector and pass counts per directory and per set (AKLC, SKLC, CS-BC, ...);
C{--update-expected} rewrites C{tests/conformance/expected_failures.txt} from the run.
"""

from __future__ import annotations

import argparse
import json
import os
import re
import sys
import time
import xml.etree.ElementTree as ET
from collections.abc import Callable, Iterator
from dataclasses import dataclass, field
from typing import Any

from kmipd.spec import Tag
from kmipd.ttlv import DecodeError, Item, decode, encode
from kmipd.ttlv.xml import XmlDecodeError, element_to_item, enum_text, tag_text, type_text, value_class

HERE = os.path.dirname(os.path.abspath(__file__))
EXPECTED_FAILURES = os.path.join(HERE, "expected_failures.txt")


def default_vector_root() -> str:
    """Where the OASIS vectors live: C{$KMIPD_CONFORMANCE_DIR} or C{<repo>/../shared/conformance}."""
    env = os.environ.get("KMIPD_CONFORMANCE_DIR")
    if env:
        return env
    repo = os.path.dirname(os.path.dirname(HERE))
    return os.path.join(os.path.dirname(repo), "shared", "conformance")


# ----------------------------------------------------------------------------- vector loading

T_STRUCT, T_INT, T_LONG, T_BIG, T_ENUM, T_BOOL, T_TEXT, T_BYTES, T_DATE, T_INTERVAL, T_DATEX = range(1, 12)

NOW_RE = re.compile(r"^\$NOW(?:\s*([+-])\s*(\d+))?$")


@dataclass(frozen=True)
class Placeholder:
    """A C{$NAME} value of a vector, resolved at replay time."""

    raw: str


@dataclass
class Step:
    """One request of a vector and the response it expects (C{None} if the vector ends early)."""

    request: Item
    expected: Item | None


class VectorError(ValueError):
    """A vector file that cannot be read."""


def name_of(item: Item) -> str:
    """The CamelCase tag name of an item (hex for unknown tags), as the matching rules use it."""
    return tag_text(item.tag) or f"0x{item.tag:06X}"


def raw_of(item: Item) -> str | None:
    """The placeholder text of a leaf, or C{None} for a literal value."""
    return item.value.raw if isinstance(item.value, Placeholder) else None


def _placeholder(tag: int, typ: int, raw: str) -> Placeholder:
    return Placeholder(raw)


def load_vector(text: str | bytes) -> list[Step]:
    """Parse a vector file into steps; AttributeName values have their runs of spaces collapsed.

    @raise VectorError: malformed XML or KMIP encoding, or messages out of order.
    """
    try:
        root = ET.fromstring(text)
    except ET.ParseError as e:
        raise VectorError(f"not well-formed XML: {e}") from None
    steps: list[Step] = []
    for el in root:
        if not isinstance(el.tag, str):
            continue
        if el.tag not in ("RequestMessage", "ResponseMessage"):
            raise VectorError(f"unexpected top-level element {el.tag}")
        try:
            item = element_to_item(el, placeholder=_placeholder)
        except XmlDecodeError as e:
            raise VectorError(str(e)) from None
        for node in item.walk():
            if node.tag == Tag.ATTRIBUTE_NAME and node.type == T_TEXT and isinstance(node.value, str):
                node.value = " ".join(node.value.split())
        if el.tag == "RequestMessage":
            steps.append(Step(item, None))
        else:
            if not steps or steps[-1].expected is not None:
                raise VectorError("ResponseMessage without preceding RequestMessage")
            steps[-1].expected = item
    return steps


def child(item: Item | None, name: str) -> Item | None:
    if item is None or item.type != T_STRUCT:
        return None
    for c in item.value:
        if name_of(c) == name:
            return c
    return None


def children(item: Item | None, name: str) -> list[Item]:
    if item is None or item.type != T_STRUCT:
        return []
    return [c for c in item.value if name_of(c) == name]


def fmt(item: Item) -> str:
    v = item.value
    if isinstance(v, Placeholder):
        return v.raw
    if item.type == T_BYTES:
        return v.hex() if len(v) <= 40 else v[:40].hex() + f"...({len(v)} bytes)"
    if item.type == T_DATE:
        import datetime as _dt
        try:
            return _dt.datetime.fromtimestamp(v, _dt.timezone.utc).isoformat()
        except (OverflowError, ValueError, OSError):
            return str(v)
    if item.type == T_ENUM:
        return f"0x{v:08X}"
    if item.type == T_BIG:
        return hex(v)
    return repr(v)


# ----------------------------------------------------------------------------- matching

ID_TAGS = {"UniqueIdentifier", "PrivateKeyUniqueIdentifier", "PublicKeyUniqueIdentifier",
           "LinkedObjectIdentifier", "ReplacementObjectIdentifier"}
ID_ATTR_NAMES = {"Unique Identifier"}
GENERATING_OPS = {"Create", "CreateKeyPair", "ReKey", "ReKeyKeyPair", "DeriveKey",
                  "CreateSplitKey", "JoinSplitKey", "Certify", "ReCertify"}
CRYPTO_OUT_TAGS = {"Data", "SignatureData", "MACData", "IVCounterNonce",
                   "AuthenticatedEncryptionTag", "CorrelationValue"}
VENDOR_TAGS = {"VendorIdentification", "ServerInformation"}
RANDOM_TAGS = {"ServerCorrelationValue", "AsynchronousCorrelationValue", "Nonce", "NonceID", "NonceValue"}
OPTIONAL_RESPONSE_TAGS = {"ResultMessage", "ServerCorrelationValue", "ClientCorrelationValue"}
ASYM_OBJECTS = {"PublicKey", "PrivateKey", "Certificate"}
NONDET_SIG_ALGS = ("ecdsa", "dsa", "ec", "eddsa", "ed25519", "ed448", "pss")
QUERY_LISTS = {"Operation", "ObjectType", "ProfileInformation", "CapabilityInformation",
               "ValidationInformation", "ApplicationNamespace", "ExtensionInformation",
               "AttestationType", "RNGParameters", "ClientRegistrationMethod",
               "DefaultsInformation", "ProtectionStorageMasks"}


class Mismatch(Exception):
    """A response that differs from the expected one; C{path} locates the difference."""

    def __init__(self, path: str, msg: str) -> None:
        super().__init__(f"{path}: {msg}")
        self.path, self.msg = path, msg


@dataclass
class State:
    """Per-vector state: placeholder bindings and object provenance."""

    bind: dict[str, tuple[int, Any]] = field(default_factory=dict)
    lit: dict[tuple[int, Any], Any] = field(default_factory=dict)
    sent: set[tuple[int, Any]] = field(default_factory=set)
    generated: set[str] = field(default_factory=set)
    objinfo: dict[str, dict[str, Any]] = field(default_factory=dict)
    last_uid: str | None = None
    last_by_tag: dict[int, tuple[int, Any]] = field(default_factory=dict)

    def snapshot(self) -> tuple[dict, dict]:
        return dict(self.bind), dict(self.lit)

    def restore(self, snap: tuple[dict, dict]) -> None:
        self.bind, self.lit = dict(snap[0]), dict(snap[1])


def _enum_name(tag: int, value: int, attr: str | None = None) -> str:
    text = enum_text(value_class(tag, attr), value)
    return text if text.startswith("0x") else f"{text}(0x{value:X})"


def _plain_enum_name(tag: int, value: int) -> str:
    text = enum_text(value_class(tag), value)
    return "" if text.startswith("0x") else text


def _norm(text: str) -> str:
    """The harness's table key of a name: lower case, letters and digits only."""
    return re.sub(r"[^a-z0-9]", "", text.lower())


def _copy(item: Item) -> Item:
    return item.copy()


Exchange = Callable[[bytes, "Item | None"], bytes]
"""C{exchange(request_bytes, expected_response) -> response_bytes}."""


class Matcher:
    """Replays vectors through an exchange function and compares answers (harness rules)."""

    def __init__(self, now: Callable[[], float] = time.time) -> None:
        self.now = now

    # ---------------- request preparation ----------------
    def prepare(self, req: Item, st: State) -> Item:
        r = _copy(req)
        now = int(self.now())
        for n in r.walk():
            if n.type == T_STRUCT:
                continue
            raw = raw_of(n)
            if raw is not None:
                m = NOW_RE.match(raw.strip())
                if m and n.type in (T_DATE, T_DATEX):
                    off = int(m.group(2) or 0) * (-1 if m.group(1) == "-" else 1)
                    n.value = now + off if n.type == T_DATE else (now + off) * 10**6
                elif raw in st.bind:
                    n.type, n.value = st.bind[raw]
                elif n.tag in st.last_by_tag and st.last_by_tag[n.tag][0] == n.type:
                    n.value = st.last_by_tag[n.tag][1]
                    st.bind[raw] = (n.type, n.value)
                else:
                    raise Mismatch(name_of(n), f"request uses unbound placeholder {raw}")
            else:
                key = (int(n.type), n.value)
                st.sent.add(key)
                if key in st.lit and (n.type != T_TEXT or name_of(n) in ID_TAGS):
                    n.value = st.lit[key]
        return r

    # ---------------- comparison ----------------
    def is_random(self, exp: Item, path: str, ctx: dict, st: State) -> bool:
        """Whether a literal expected leaf is an inherently random value (type check only)."""
        name = name_of(exp)
        op = ctx.get("op")
        if name in RANDOM_TAGS:
            return True
        if exp.type in (T_DATE, T_DATEX):
            return (int(exp.type), exp.value) not in st.sent
        if exp.type not in (T_BYTES, T_BIG):
            return False
        if (int(exp.type), exp.value) in st.sent:
            return False
        if op == "RNGRetrieve" and name == "Data":
            return True
        if "KeyValue" in path or "KeyMaterial" in path or "CertificateValue" in path \
                or "KeyWrappingData" in path:
            return True
        uid = ctx.get("uid")
        if name == "DigestValue":
            return uid in st.generated or uid is None
        if name in CRYPTO_OUT_TAGS and op in ("Encrypt", "Sign", "MAC", "RNGRetrieve"):
            if uid in st.generated:
                return True
            if name in ("IVCounterNonce", "CorrelationValue"):
                return True
            if op == "Encrypt":
                if ctx.get("server_iv"):
                    return True
                if st.objinfo.get(uid, {}).get("objtype") in ASYM_OBJECTS:
                    return True
            if op == "Sign":
                info = st.objinfo.get(uid, {})
                algs = " ".join(str(x) for x in (info.get("alg"), ctx.get("sigparams"))).lower()
                if any(a in algs.split() for a in NONDET_SIG_ALGS) or "pss" in algs \
                        or "ecdsa" in algs or "dsa" in algs:
                    return True
        return False

    def leaf_eq(self, exp: Item, act: Item, path: str, ctx: dict, st: State) -> None:
        if exp.type != act.type:
            raise Mismatch(path, f"type {_type_name(act.type)}, expected {_type_name(exp.type)}")
        name = name_of(exp)
        if name == "TimeStamp" or name in VENDOR_TAGS or name == "ResultMessage":
            return
        raw = raw_of(exp)
        if raw is not None:
            r = raw.strip()
            if NOW_RE.match(r):
                return
            if r in st.bind:
                if st.bind[r] != (int(act.type), act.value):
                    bound = Item(0, act.type, st.bind[r][1])
                    raise Mismatch(path, f"got {fmt(act)}, expected {r} = {fmt(bound)}")
                return
            st.bind[r] = (int(act.type), act.value)
            return
        key = (int(exp.type), exp.value)
        is_id = name in ID_TAGS or (name == "AttributeValue" and ctx.get("attr") in ID_ATTR_NAMES)
        if is_id and exp.type == T_TEXT:
            if key in st.lit:
                if st.lit[key] != act.value:
                    raise Mismatch(path, f"got {act.value!r}, expected id bound to {st.lit[key]!r}")
                return
            st.lit[key] = act.value
            return
        if exp.value == act.value:
            return
        if self.is_random(exp, path, ctx, st):
            if exp.type in (T_BYTES, T_BIG, T_TEXT):
                st.lit[key] = act.value
            return
        if exp.type == T_ENUM:
            attr = ctx.get("attr") if name == "AttributeValue" else None
            raise Mismatch(path, f"got {_enum_name(exp.tag, act.value, attr)}, "
                                 f"expected {_enum_name(exp.tag, exp.value, attr)}")
        raise Mismatch(path, f"got {fmt(act)}, expected {fmt(exp)}")

    def cmp(self, exp: Item, act: Item, path: str, ctx: dict, st: State) -> None:
        ename = name_of(exp)
        p = f"{path}/{ename}"
        if exp.tag != act.tag:
            raise Mismatch(p, f"got tag {name_of(act)}, expected {ename}")
        if exp.type != T_STRUCT:
            return self.leaf_eq(exp, act, p, ctx, st)
        if act.type != T_STRUCT:
            raise Mismatch(p, f"got {_type_name(act.type)}, expected Structure")
        ekids = list(exp.value)
        akids = list(act.value)
        if ename in ("ResponseHeader", "BatchItem"):
            enames = {name_of(k) for k in ekids}
            akids = [k for k in akids if not (name_of(k) in OPTIONAL_RESPONSE_TAGS and name_of(k) not in enames)]
            if "ResultMessage" not in {name_of(k) for k in akids}:
                ekids = [k for k in ekids if name_of(k) != "ResultMessage"]
        if ename == "Attribute":
            an = child(exp, "AttributeName")
            ctx = dict(ctx, attr=an.value if an is not None else None)
        unordered = self.unordered_kids(exp, ctx)
        if unordered:
            return self.cmp_unordered(exp, ekids, akids, p, ctx, st, unordered)
        for i, e in enumerate(ekids):
            if i >= len(akids):
                raise Mismatch(p, f"missing {name_of(e)} (and {len(ekids) - i - 1} more expected field(s))")
            self.cmp(e, akids[i], p, ctx, st)
        if len(akids) > len(ekids):
            raise Mismatch(p, f"unexpected extra field {name_of(akids[len(ekids)])}")
        return None

    def unordered_kids(self, exp: Item, ctx: dict) -> set[str] | str | None:
        """The child names that may come in any order, C{'ALL'}, or C{None}."""
        op = ctx.get("op")
        ename = name_of(exp)
        if ename == "ResponsePayload" and op in ("GetAttributes", "GetAttributeList"):
            return {"Attribute", "AttributeName", "AttributeReference"}
        if ename == "Attributes" and op in ("GetAttributes", "GetAttributeList", "Export"):
            return "ALL"
        if ename == "ResponsePayload" and op == "Locate":
            return {"UniqueIdentifier"}
        if ename == "ResponsePayload" and op == "Query":
            return QUERY_LISTS
        return None

    def cmp_unordered(self, exp: Item, ekids: list[Item], akids: list[Item], p: str, ctx: dict,
                      st: State, unordered: set[str] | str) -> None:
        def free(k: Item) -> bool:
            return unordered == "ALL" or name_of(k) in unordered

        efix = [k for k in ekids if not free(k)]
        afix = [k for k in akids if not free(k)]
        for i, e in enumerate(efix):
            if i >= len(afix):
                raise Mismatch(p, f"missing {name_of(e)}")
            self.cmp(e, afix[i], p, ctx, st)
        if len(afix) > len(efix):
            raise Mismatch(p, f"unexpected extra field {name_of(afix[len(efix)])}")
        efree = [k for k in ekids if free(k)]
        afree = [k for k in akids if free(k)]
        snap = st.snapshot()
        if len(efree) == len(afree):
            try:
                for e, a in zip(efree, afree, strict=True):
                    self.cmp(e, a, p, ctx, st)
                return
            except Mismatch:
                st.restore(snap)
        used = [False] * len(afree)
        for e in efree:
            err: Mismatch | None = None
            for j, a in enumerate(afree):
                if used[j] or a.tag != e.tag:
                    continue
                s2 = st.snapshot()
                try:
                    self.cmp(e, a, p, ctx, st)
                    used[j] = True
                    err = None
                    break
                except Mismatch as m:
                    st.restore(s2)
                    if err is None and self.same_key(e, a):
                        err = m
            else:
                if err is not None:
                    raise err
                raise Mismatch(p, f"missing {name_of(e)}{self.label(e)}")
        extra = [afree[j] for j in range(len(afree)) if not used[j]]
        if extra:
            raise Mismatch(p, f"unexpected extra {name_of(extra[0])}{self.label(extra[0])}")

    @staticmethod
    def same_key(e: Item, a: Item) -> bool:
        if e.type != T_STRUCT or a.type != T_STRUCT or not e.value or not a.value:
            return False
        ek, ak = e.value[0], a.value[0]
        if ek.type == T_STRUCT or ek.tag != ak.tag:
            return False
        return raw_of(ek) is not None or ek.value == ak.value

    @staticmethod
    def label(n: Item) -> str:
        if name_of(n) == "Attribute":
            an = child(n, "AttributeName")
            return f' "{an.value}"' if an is not None else ""
        if n.type == T_ENUM and isinstance(n.value, int):
            return f" {_enum_name(n.tag, n.value)}"
        if n.type != T_STRUCT and n.value is not None:
            return f" {fmt(n)}"
        return ""

    # ---------------- per step ----------------
    def item_context(self, req_item: Item, st: State) -> dict:
        ctx: dict[str, Any] = {}
        op = child(req_item, "Operation")
        if op is not None and isinstance(op.value, int):
            ctx["op"] = _plain_enum_name(op.tag, op.value) or str(op.value)
        pl = child(req_item, "RequestPayload")
        uid = None
        if pl is not None:
            u = child(pl, "UniqueIdentifier")
            if u is not None and u.type == T_TEXT:
                uid = u.value
            if child(pl, "IVCounterNonce") is None:
                ctx["server_iv"] = True
            cp = child(pl, "CryptographicParameters")
            if cp is not None:
                parts = [_norm(_plain_enum_name(c.tag, c.value)) for c in cp.value if c.type == T_ENUM]
                ctx["sigparams"] = " ".join(parts)
        ctx["uid"] = uid if uid is not None else st.last_uid
        return ctx

    def post_item(self, req_item: Item, act_item: Item, ctx: dict, st: State) -> None:
        pl = child(act_item, "ResponsePayload")
        if pl is None:
            return
        uids = [c.value for c in pl.value if name_of(c) in ("UniqueIdentifier", "PrivateKeyUniqueIdentifier",
                                                             "PublicKeyUniqueIdentifier") and c.type == T_TEXT]
        if uids:
            st.last_uid = uids[0]
        op = ctx.get("op")
        if op in GENERATING_OPS:
            st.generated.update(uids)
        if op == "Register" and uids:
            rp = child(req_item, "RequestPayload")
            info: dict[str, Any] = {}
            if rp is not None:
                ot = child(rp, "ObjectType")
                if ot is not None and isinstance(ot.value, int):
                    info["objtype"] = _plain_enum_name(ot.tag, ot.value) or None
                for n in rp.walk():
                    if name_of(n) == "CryptographicAlgorithm" and n.type == T_ENUM:
                        info["alg"] = _norm(_plain_enum_name(n.tag, n.value)) or None
            st.objinfo[uids[0]] = info

    @staticmethod
    def pver(hdr: Item | None) -> tuple[int, int] | None:
        pv = child(hdr, "ProtocolVersion")
        ma, mi = child(pv, "ProtocolVersionMajor"), child(pv, "ProtocolVersionMinor")
        if ma is None or mi is None:
            return None
        return (ma.value, mi.value)

    def compare_message(self, exp: Item, act: Item, st: State, req: Item) -> None:
        if name_of(act) != "ResponseMessage":
            raise Mismatch("", f"response is {name_of(act)}, not ResponseMessage")
        eh, ah = child(exp, "ResponseHeader"), child(act, "ResponseHeader")
        if ah is None:
            raise Mismatch("/ResponseMessage", "missing ResponseHeader")
        rv, av = self.pver(child(req, "RequestHeader")), self.pver(ah)
        if rv and av and rv != av and rv == self.pver(eh):
            why = []
            for bi in children(act, "BatchItem"):
                rr, rm = child(bi, "ResultReason"), child(bi, "ResultMessage")
                if rr is not None:
                    why.append(_plain_enum_name(rr.tag, rr.value) or str(rr.value))
                if rm is not None:
                    why.append(f'"{rm.value[:120]}"')
            detail = (": " + " ".join(why)) if why else ""
            raise Mismatch("/ResponseMessage/ResponseHeader/ProtocolVersion",
                           f"server rejected the protocol {rv[0]}.{rv[1]} request, answering with protocol "
                           f"{av[0]}.{av[1]}{detail}")
        if eh is not None:
            self.cmp(eh, ah, "/ResponseMessage", {}, st)
        ritems = children(req, "BatchItem")
        eitems = children(exp, "BatchItem")
        aitems = children(act, "BatchItem")
        for i, e in enumerate(eitems):
            path = f"/ResponseMessage[item {i}]"
            if i >= len(aitems):
                raise Mismatch(path, f"missing BatchItem (got {len(aitems)}, expected {len(eitems)})")
            ri = ritems[i] if i < len(ritems) else None
            eid = child(e, "UniqueBatchItemID")
            if eid is not None:
                for r in ritems:
                    rid = child(r, "UniqueBatchItemID")
                    if rid is not None and rid.value == eid.value:
                        ri = r
            ctx = self.item_context(ri, st) if ri is not None else {}
            try:
                self.cmp(e, aitems[i], path, ctx, st)
            except Mismatch as m:
                rs = child(aitems[i], "ResultStatus")
                if rs is not None and rs.value != 0:
                    rr, rm = child(aitems[i], "ResultReason"), child(aitems[i], "ResultMessage")
                    reason = (_plain_enum_name(rr.tag, rr.value) or rr.value) if rr is not None else "-"
                    text = f' "{rm.value[:160]}"' if rm is not None else ""
                    raise Mismatch(m.path, f"{m.msg} {{server: {reason}{text}}}") from None
                raise
            if ri is not None:
                self.post_item(ri, aitems[i], ctx, st)
        if len(aitems) > len(eitems):
            raise Mismatch("/ResponseMessage", "unexpected extra BatchItem")

    # ---------------- one vector ----------------
    def run_vector(self, text: str | bytes, exchange: Exchange) -> tuple[bool, str]:
        """Replay one vector; return C{(passed, reason)}."""
        try:
            steps = load_vector(text)
        except VectorError as e:
            return False, f"runner could not parse vector: {e}"
        st = State()
        for si, step in enumerate(steps):
            where = f"step {si}"
            try:
                r = self.prepare(step.request, st)
            except Mismatch as m:
                return False, f"{where}: {m}"
            try:
                data = encode(r)
            except (ValueError, TypeError, OverflowError, AttributeError) as e:
                return False, f"{where}: cannot encode request: {e}"
            try:
                resp = exchange(data, step.expected)
            except Exception as e:  # the server under test crashed
                return False, f"{where}: no response ({type(e).__name__}: {e}){_version_note(r)}"
            try:
                act = decode(resp)
            except DecodeError as e:
                return False, f"{where}: undecodable response: {e}"
            for n in act.walk():
                if n.type != T_STRUCT:
                    st.last_by_tag[n.tag] = (int(n.type), n.value)
            if step.expected is None:
                continue
            try:
                self.compare_message(step.expected, act, st, r)
            except Mismatch as m:
                note = "" if "answering with protocol" in str(m) else _version_note(r, act)
                return False, f"{where}: {m}{note}"
        return True, ""


def _type_name(typ: int) -> str:
    try:
        return type_text(typ)
    except ValueError:
        return str(typ)


def _version_note(req: Item, act: Item | None = None) -> str:
    v = Matcher.pver(child(req, "RequestHeader"))
    if v is None:
        return ""
    if act is None:
        return f" [request protocol {v[0]}.{v[1]}]"
    av = Matcher.pver(child(act, "ResponseHeader"))
    if av is not None and av != v:
        return f" [server answered protocol {av[0]}.{av[1]} to a {v[0]}.{v[1]} request]"
    return ""


# ----------------------------------------------------------------------------- exchanges

class SelfTestExchange:
    """Answers each request with the vector's own expected response, placeholders filled with
    fresh values (consistent within one vector).  C{mutate(step, response)} may alter the answer
    (negative tests).  Every vector must pass with no mutation."""

    def __init__(self, now: Callable[[], float] = time.time,
                 mutate: Callable[[int, Item], Item | None] | None = None) -> None:
        self.now = now
        self.mutate = mutate
        self.fake: dict[str, Any] = {}
        self.step = 0

    def __call__(self, data: bytes, expected: Item | None) -> bytes:
        if expected is None:
            raise ConnectionError("vector has no expected response for this step")
        r = expected.copy()
        now = int(self.now())
        for n in r.walk():
            raw = raw_of(n)
            if n.type == T_STRUCT or raw is None:
                continue
            m = NOW_RE.match(raw.strip())
            if m:
                off = int(m.group(2) or 0) * (-1 if m.group(1) == "-" else 1)
                n.value = now + off if n.type == T_DATE else (now + off) * 10**6
                continue
            if raw not in self.fake:
                k = len(self.fake)
                self.fake[raw] = {
                    T_TEXT: f"srv-{k}", T_BYTES: b"srv-%d-" % k + bytes(8), T_INT: 1000 + k,
                    T_ENUM: 1000 + k, T_BIG: 10**20 + k, T_LONG: 10**12 + k, T_INTERVAL: 1000 + k,
                    T_BOOL: False, T_DATE: now, T_DATEX: now * 10**6,
                }[int(n.type)]
            n.value = self.fake[raw]
        if self.mutate is not None:
            r = self.mutate(self.step, r) or r
        self.step += 1
        return encode(r)


class DispatcherExchange:
    """Sends requests to an in-process kmipd dispatcher as caller C{identity}."""

    def __init__(self, dispatcher: Any, identity: str = "conformance") -> None:
        from kmipd.dispatch import Caller

        self.dispatcher = dispatcher
        self.caller = Caller(identity)

    def __call__(self, data: bytes, expected: Item | None) -> bytes:
        return self.dispatcher.process(data, self.caller).data


def new_kmipd(store: str = "memory", clock: Any = None) -> tuple[DispatcherExchange, Callable[[], float]]:
    """A fresh kmipd (empty store, built-in policies) and its clock.

    @param store: C{"memory"} or C{"sqlite"} (a new SQLite file in a temporary directory).
    """
    from kmipd.testing import FakeClock, make_processor

    clock = clock or FakeClock(float(int(time.time())))
    if store == "sqlite":
        import atexit
        import shutil
        import tempfile

        from kmipd.store.sql import SQLObjectStore

        tmp = tempfile.mkdtemp(prefix="kmipd-conf-")
        atexit.register(shutil.rmtree, tmp, True)
        path = os.path.join(tmp, "kmip.sqlite")
        backend = SQLObjectStore(f"sqlite:///{path}", os.urandom(32))
        backend.create_schema()
        dispatcher = make_processor(backend, clock=clock)
    else:
        dispatcher = make_processor(clock=clock)
    return DispatcherExchange(dispatcher), clock


# ----------------------------------------------------------------------------- vector sets

def natural_key(s: str) -> list[Any]:
    return [int(x) if x.isdigit() else x for x in re.split(r"(\d+)", s)]


def vector_files(directory: str) -> list[str]:
    """The C{*.xml} file names of a directory in natural order (...-2 before ...-3, ...-10)."""
    return sorted((f for f in os.listdir(directory) if f.endswith(".xml")), key=natural_key)


def set_name(file_name: str) -> str:
    """The test set of a vector file: C{CS-BC-M-GCM-1-14.xml} -> C{CS-BC}."""
    m = re.match(r"^(.*?)-[MO]-", file_name)
    return m.group(1) if m else file_name.rsplit(".", 1)[0]


def predecessor(directory: str, file_name: str) -> str | None:
    """The vector a file continues (harness rule: it names the previous file's id), or C{None}."""
    files = vector_files(directory)
    i = files.index(file_name)
    if i == 0:
        return None
    prev = files[i - 1][:-4]
    with open(os.path.join(directory, file_name), encoding="utf-8", errors="replace") as fh:
        return files[i - 1] if prev in fh.read() else None


def read_vector(directory: str, file_name: str) -> str:
    with open(os.path.join(directory, file_name), encoding="utf-8", errors="replace") as fh:
        return fh.read()


def replay_kmipd(directory: str, file_name: str, store: str = "memory") -> tuple[bool, str]:
    """Replay one vector against a fresh kmipd (after its predecessor, if it continues one)."""
    exchange, clock = new_kmipd(store)
    matcher = Matcher(now=clock)
    chain = []
    prev = predecessor(directory, file_name)
    while prev is not None:
        chain.insert(0, prev)
        prev = predecessor(directory, prev)
    for earlier in chain:
        matcher.run_vector(read_vector(directory, earlier), exchange)
    return matcher.run_vector(read_vector(directory, file_name), exchange)


def replay_selftest(directory: str, file_name: str,
                    mutate: Callable[[int, Item], Item | None] | None = None) -> tuple[bool, str]:
    """Replay one vector against its own expected responses (optionally mutated)."""
    return Matcher().run_vector(read_vector(directory, file_name), SelfTestExchange(mutate=mutate))


def iter_results(directories: list[str], root: str, *, selftest: bool = False, store: str = "memory",
                 pattern: str | None = None) -> Iterator[tuple[str, str, bool, str, float]]:
    """C{(directory label, file, passed, reason, seconds)} for every vector of the directories.

    Like the harness with C{--reset-cmd}: each vector starts on an empty kmipd unless it continues
    the previous one, which then shares its server.
    """
    for d in directories:
        label = os.path.relpath(d, root) if os.path.abspath(d).startswith(os.path.abspath(root)) else d
        exchange: Any = None
        clock: Any = None
        prev: str | None = None
        for f in vector_files(d):
            if pattern and pattern not in f and not _glob(f, pattern):
                prev = f[:-4]
                continue
            text = read_vector(d, f)
            cont = prev is not None and prev in text
            prev = f[:-4]
            t0 = time.monotonic()
            if selftest:
                ok, why = Matcher().run_vector(text, SelfTestExchange())
            else:
                if exchange is None or not cont:
                    exchange, clock = new_kmipd(store)
                ok, why = Matcher(now=clock).run_vector(text, exchange)
            yield label, f, ok, why, time.monotonic() - t0


def _glob(name: str, pattern: str) -> bool:
    import fnmatch

    return fnmatch.fnmatch(name, pattern)


# ----------------------------------------------------------------------------- expected failures

def load_expected_failures(path: str = EXPECTED_FAILURES) -> dict[str, str]:
    """C{{"kmip-1.4/mandatory/SKLC-M-1-14.xml": reason}} from the data file (C{#} comments)."""
    out: dict[str, str] = {}
    if not os.path.exists(path):
        return out
    with open(path, encoding="utf-8") as fh:
        for line in fh:
            line = line.rstrip("\n")
            if not line.strip() or line.lstrip().startswith("#"):
                continue
            name, _, reason = line.partition(" ")
            out[name.strip()] = reason.strip() or "fails"
    return out


def write_expected_failures(failures: dict[str, str], path: str = EXPECTED_FAILURES) -> None:
    lines = [
        "# Conformance vectors kmipd does not pass yet: <dir>/<file> <one-line reason>.",
        "# Regenerate with: python -m tests.conformance.runner --update-expected",
        "# A listed vector that starts passing fails the trial run (unexpected success): regenerate.",
    ]
    for name in sorted(failures, key=natural_key):
        reason = " ".join(failures[name].split())
        if len(reason) > 200:
            reason = reason[:197] + "..."
        lines.append(f"{name} {reason}")
    with open(path, "w", encoding="utf-8") as fh:
        fh.write("\n".join(lines) + "\n")


# ----------------------------------------------------------------------------- CLI

def main(argv: list[str] | None = None) -> int:
    ap = argparse.ArgumentParser(prog="python -m tests.conformance.runner",
                                 description="Replay OASIS KMIP XML vectors against an in-process kmipd.")
    ap.add_argument("--dir", action="append", default=[],
                    help="directory of *.xml vectors (repeatable; default: every directory under --root)")
    ap.add_argument("--root", default=default_vector_root(), help="vector root (default: %(default)s)")
    ap.add_argument("-k", dest="pattern", help="only vectors whose file name matches this glob/substring")
    ap.add_argument("--store", choices=["memory", "sqlite"], default="memory")
    ap.add_argument("--selftest", action="store_true",
                    help="answer each request with its own expected response (checks the runner)")
    ap.add_argument("--update-expected", action="store_true",
                    help=f"rewrite {os.path.relpath(EXPECTED_FAILURES)} from this run's failures")
    ap.add_argument("--json", help="write a JSON summary here")
    ap.add_argument("-v", "--verbose", action="store_true", help="print full failure reasons")
    ap.add_argument("-q", "--quiet", action="store_true", help="print only the summary")
    a = ap.parse_args(argv)
    dirs = a.dir or sorted(os.path.join(dp, "") .rstrip("/") for dp, _, fs in os.walk(a.root)
                           if any(f.endswith(".xml") for f in fs))
    if not dirs:
        ap.error(f"no vector directories under {a.root}")
    if a.update_expected and (a.selftest or a.pattern):
        ap.error("--update-expected needs a full kmipd run (no --selftest, no -k)")
    per_dir: dict[str, list[int]] = {}
    per_set: dict[str, list[int]] = {}
    failures: dict[str, str] = {}
    for label, f, ok, why, dt in iter_results(dirs, a.root, selftest=a.selftest, store=a.store,
                                              pattern=a.pattern):
        for table, key in ((per_dir, label), (per_set, set_name(f))):
            row = table.setdefault(key, [0, 0])
            row[0] += ok
            row[1] += 1
        if ok:
            if not a.quiet:
                print(f"PASS {label} {f} ({dt:.2f}s)", flush=True)
        else:
            failures[f"{label}/{f}"] = why
            if not a.quiet:
                line = why if a.verbose or len(why) < 300 else why[:297] + "..."
                print(f"FAIL {label} {f}: {line}", flush=True)
    for label, (p, t) in per_dir.items():
        print(f"# {label}: {p}/{t} passed")
    print("# per set: " + ", ".join(f"{s} {p}/{t}" for s, (p, t) in sorted(per_set.items())))
    tp = sum(p for p, _ in per_dir.values())
    tt = sum(t for _, t in per_dir.values())
    print(f"{tp} passed, {tt - tp} failed")
    if a.json:
        with open(a.json, "w") as fh:
            json.dump({"per_dir": per_dir, "per_set": per_set, "failures": failures}, fh, indent=2, sort_keys=True)
    if a.update_expected:
        write_expected_failures(failures)
        print(f"wrote {len(failures)} expected failure(s) to {os.path.relpath(EXPECTED_FAILURES)}")
    return 0 if tp == tt else 1


if __name__ == "__main__":
    sys.exit(main())
