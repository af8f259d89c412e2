#!/usr/bin/env python3
"""Generate ``kmipd/spec/_generated.py`` from the OASIS KMIP specification texts.

Usage::

    python tools/gen_spec.py [--spec-dir DIR] [--output FILE] [--check]

The spec texts (``kmip-spec-1.0-os.txt`` ... ``kmip-spec-v2.1-os.txt``) are plain text renderings
of the OASIS documents with tables drawn in box characters.  This script:

* splits every box table into rows of cells (joining wrapped lines of one row),
* reads the tag table (9.1.3.1 in 1.x, "Tag Enumeration" in 2.x),
* reads every ``Name | Value`` enumeration and mask table,
* reads item types from the 1.x "Tag Cross-reference" and from the ``Object | Encoding`` tables,
* reads the attribute rule tables ("SHALL always have a value", "Initially set by", ...),

and writes one deterministic Python module.  ``--check`` exits 1 if the checked-in module differs.
Standard library only.
"""

from __future__ import annotations

import argparse
import json
import os
import re
import sys
from dataclasses import dataclass, field

VERSIONS: tuple[tuple[int, int], ...] = (
    (1, 0),
    (1, 1),
    (1, 2),
    (1, 3),
    (1, 4),
    (2, 0),
    (2, 1),
)

SPEC_FILES: dict[tuple[int, int], str] = {
    (1, 0): "kmip-spec-1.0-os.txt",
    (1, 1): "kmip-spec-v1.1-os.txt",
    (1, 2): "kmip-spec-v1.2-os.txt",
    (1, 3): "kmip-spec-v1.3-os.txt",
    (1, 4): "kmip-spec-v1.4-os.txt",
    (2, 0): "kmip-spec-v2.0-os.txt",
    (2, 1): "kmip-spec-v2.1-os.txt",
}

HERE = os.path.dirname(os.path.abspath(__file__))
REPO = os.path.dirname(HERE)
DEFAULT_SPEC_DIR = os.environ.get(
    "KMIPD_SPEC_DIR", os.path.join(os.path.dirname(REPO), "shared", "spec")
)
DEFAULT_OUTPUT = os.path.join(REPO, "kmipd", "spec", "_generated.py")

ITEM_TYPES: dict[str, int] = {
    "structure": 1,
    "integer": 2,
    "long integer": 3,
    "big integer": 4,
    "enumeration": 5,
    "boolean": 6,
    "text string": 7,
    "byte string": 8,
    "date-time": 9,
    "interval": 10,
    "date-time extended": 11,
}
ITEM_TYPE_NAMES = {v: k.title() for k, v in ITEM_TYPES.items()}

MASKS = ("Cryptographic Usage Mask", "Storage Status Mask", "Protection Storage Mask")

# Enumerations whose values the spec texts only name by reference (2.x sections 11.38/11.39 point
# at PKCS#11 instead of listing values).  The few values below are the ones KMIP test material
# uses: the 1-based offsets of CK_FUNCTION_LIST_3_0 and CKR_OK.
SUPPLEMENTS: dict[str, dict[str, tuple[int, tuple[tuple[int, int], ...]]]] = {
    "PKCS#11 Function": {
        "C_Initialize": (1, ((2, 0), (2, 1))),
        "C_Finalize": (2, ((2, 0), (2, 1))),
        "C_GetInfo": (3, ((2, 0), (2, 1))),
        "C_GetFunctionList": (4, ((2, 0), (2, 1))),
        "C_GetSlotList": (5, ((2, 0), (2, 1))),
        "C_GetSlotInfo": (6, ((2, 0), (2, 1))),
        "C_GetTokenInfo": (7, ((2, 0), (2, 1))),
    },
    "PKCS#11 Return Code": {
        "OK": (0, ((2, 0), (2, 1))),
    },
}

# Enumeration-typed tags whose enumeration is not found by name or section reference.
ENUM_FOR_TAG_OVERRIDES: dict[str, str] = {
    "Object Group Member": "Object Group Member",
    "Destroy Action": "Destroy Action",
    "Mask Generator": "Mask Generator",
    "Mask Generator Hashing Algorithm": "Hashing Algorithm",
    "Rotate Name Type": "Rotate Name Type",
    "Name Type": "Name Type",
    "Alternative Name Type": "Alternative Name Type",
    "Profile Name": "Profile Name",
    "Client Registration Method": "Client Registration Method",
    "Key Wrap Type": "Key Wrap Type",
    "Unwrap Mode": "Unwrap Mode",
    "Shredding Algorithm": "Shredding Algorithm",
    "RNG Mode": "RNG Mode",
    "RNG Algorithm": "RNG Algorithm",
    "DRBG Algorithm": "DRBG Algorithm",
    "FIPS186 Variation": "FIPS186 Variation",
    "Validation Authority Type": "Validation Authority Type",
    "Validation Type": "Validation Type",
    "Endpoint Role": "Endpoint Role",
    "Processing Stage": "Processing Stage",
    "Asynchronous Indicator": "Asynchronous Indicator",
    "Adjustment Type": "Adjustment Type",
    "Interop Function": "Interop Function",
    "Ticket Type": "Ticket Type",
    "NIST Key Type": "NIST Key Type",
    "Protection Level": "Protection Level",
    "Key Value Location Type": "Key Value Location Type",
    "Attestation Type": "Attestation Type",
    "Encoding Option": "Encoding Option",
    "Digital Signature Algorithm": "Digital Signature Algorithm",
    "Key Role Type": "Key Role Type",
    "Batch Error Continuation Option": "Batch Error Continuation Option",
    "Usage Limits Unit": "Usage Limits Unit",
    "Certificate Request Type": "Certificate Request Type",
    "Validity Indicator": "Validity Indicator",
    "Cancellation Result": "Cancellation Result",
    "Put Function": "Put Function",
    "Query Function": "Query Function",
    "Item Type": "Item Type",
    "PKCS#11 Function": "PKCS#11 Function",
    "PKCS#11 Return Code": "PKCS#11 Return Code",
    "Data": "Data",
    "Extension Type": "Item Type",
    "Linked Object Identifier": "Unique Identifier",
    "Attribute Reference": "Tag",
}

# Item types the spec texts imply but never state in a table (only in prose such as "The endpoint
# role ..." or via the enumeration of the same name).  Used only where no table gives a type.
TYPE_FALLBACKS: dict[str, str] = {
    "Adjustment Type": "enumeration",
    "Alternate Failover Endpoints": "structure",
    "Certificate Request Unique Identifier": "text string",
    "Client Registration Method": "enumeration",
    "Common Protection Storage Masks": "structure",
    "Digested Data": "byte string",
    "Endpoint Role": "enumeration",
    "Ephemeral": "boolean",
    "Key Wrap Type": "enumeration",
    "Private Protection Storage Masks": "structure",
    "Public Protection Storage Masks": "structure",
    "Request Count": "integer",
    "Server Hashed Password": "byte string",
}

DIGIT_WORDS = {"3DES": "TRIPLE_DES", "2DES": "DOUBLE_DES"}


# --------------------------------------------------------------------------- table reading


@dataclass
class Table:
    """One box-drawn table: its rows of cells and where it sits."""

    line: int
    heading: str
    caption: str
    rows: list[list[str]]


_HEADING_RE = re.compile(r"^(\d+(?:\.\d+)*)\.?\s+([A-Z(][^│]*?)\s*$")


def _is_heading(line: str) -> re.Match[str] | None:
    if len(line) > 110 or re.search(r"[\s.]\d+$", line):
        return None  # long prose lines and table-of-contents entries ("3.4 Foo. 12")
    m = _HEADING_RE.match(line)
    if m and not m.group(2).endswith((".", ",", ";", ":")):
        return m
    return None


def read_tables(text: str) -> list[Table]:
    """Split a spec text into its box tables (wrapped lines of one row joined with spaces)."""
    lines = text.split("\n")
    out: list[Table] = []
    heading = ""
    i, n = 0, len(lines)
    while i < n:
        line = lines[i]
        if not any(c in line for c in "│┌├└"):
            if _is_heading(line):
                heading = " ".join(line.split())
            i += 1
            continue
        start = i
        rows: list[list[list[str]]] = []
        cur: list[list[str]] | None = None
        while i < n and any(c in lines[i] for c in "│┌├└"):
            s = lines[i].strip()
            if s[:1] in "┌├└":
                if cur:
                    rows.append(cur)
                cur = None
            elif s[:1] == "│":
                cells = [c.strip() for c in s.strip("│").split("│")]
                if cur is None or len(cur) != len(cells):
                    if cur:
                        rows.append(cur)
                    cur = [[c] for c in cells]
                else:
                    for k, c in enumerate(cells):
                        cur[k].append(c)
            i += 1
        if cur:
            rows.append(cur)
        caption = ""
        for j in range(i, min(i + 4, n)):
            m = re.match(r"\s*(Table \d+:.*?)\s*$", lines[j])
            if m:
                caption = m.group(1)
                break
            if lines[j].strip(" \xa0"):
                break
        joined = [[_join(cell) for cell in row] for row in rows]
        out.append(Table(start + 1, heading, caption, joined))
    return out


def _join(parts: list[str]) -> str:
    text = ""
    for p in parts:
        if not p:
            continue
        if text.endswith("-") and not text.endswith(" -") and p[:1].islower():
            text += p  # hyphenated word broken across lines
        elif text:
            text += " " + p
        else:
            text = p
    return " ".join(text.split())


# --------------------------------------------------------------------------- names


def member_name(name: str) -> str:
    """Python member name for a spec name: upper-case, non-alphanumeric runs -> '_'."""
    if name in DIGIT_WORDS:
        return DIGIT_WORDS[name]
    s = re.sub(r"[^A-Za-z0-9]+", "_", name).strip("_").upper()
    if s and s[0].isdigit():
        s = "V_" + s
    return s or "UNNAMED"


def class_name(name: str) -> str:
    """CamelCase class name for an enumeration name ("Object Group Member" -> ObjectGroupMember)."""
    words = re.split(r"[^A-Za-z0-9]+", name)
    out = ""
    for w in words:
        if not w:
            continue
        out += w if w.isupper() or any(c.isdigit() for c in w) else w[0].upper() + w[1:]
    return out


def norm(name: str) -> str:
    """Lower-case name without punctuation or spaces (the kmip_tables.json key form)."""
    return re.sub(r"[^a-z0-9]", "", name.lower())


def clean_enum_name(heading: str) -> str:
    """'9.1.3.2.5 Recommended Curve Enumeration for ECDSA' -> 'Recommended Curve'."""
    title = re.sub(r"^\d+(\.\d+)*\.?\s+", "", heading).strip()
    title = re.split(r"\s+Enumerations?\b", title)[0]
    return title.strip()


# --------------------------------------------------------------------------- extraction

_HEX_RE = re.compile(r"^(?:0x)?([0-9A-Fa-f]{6,8})(?:\s*\((deprecated)[^)]*\)?)?$")


@dataclass
class VersionData:
    """Everything read from one spec version."""

    tags: dict[int, str] = field(default_factory=dict)
    enums: dict[str, dict[int, str]] = field(default_factory=dict)
    enum_sections: dict[str, str] = field(default_factory=dict)
    types: dict[str, list[int]] = field(default_factory=dict)
    weak_types: dict[str, list[int]] = field(default_factory=dict)
    variant_types: dict[str, list[int]] = field(default_factory=dict)
    ref_types: dict[str, list[str]] = field(default_factory=dict)
    enum_refs: dict[str, set[str]] = field(default_factory=dict)
    attr_rules: dict[str, dict[str, str]] = field(default_factory=dict)
    attr_candidates: dict[str, list[str]] = field(default_factory=dict)
    attr_types: dict[str, str] = field(default_factory=dict)


_DESC_TYPE_RE = re.compile(
    r"^An?\s+(Integer|Long Integer|Big Integer|Enumeration|Boolean|Text String|Byte String|"
    r"Date-Time|Interval|Structure)\b"
)


def _types_in(text: str) -> list[int]:
    """Every item type named in an 'Encoding' cell, in order of appearance."""
    t = (
        text.lower()
        .replace("textstring", "text string")
        .replace("date time", "date-time")
    )
    found: list[tuple[int, int]] = []
    for name, typ in ITEM_TYPES.items():
        for m in re.finditer(r"(?<![a-z-])" + re.escape(name) + r"(?![a-z-])", t):
            found.append((m.start(), typ))
    # "big integer" also contains "integer"; "date-time extended" contains "date-time".
    spans = {(pos, typ) for pos, typ in found}
    keep = []
    for pos, typ in sorted(spans):
        name = ITEM_TYPE_NAMES[typ].lower()
        if any(
            p2 <= pos
            and pos + len(name) <= p2 + len(ITEM_TYPE_NAMES[t2])
            and (p2, t2) != (pos, typ)
            for p2, t2 in spans
        ):
            continue
        if typ not in keep:
            keep.append(typ)
    return keep


def _parse_type(text: str) -> int | None:
    """Item type for an 'Encoding' cell, or None when absent or ambiguous."""
    t = re.sub(r"\s*\(.*?\)", "", text)
    t = re.split(r",?\s*(?:MAY be repeated|may be repeated|May be repeated|see\b)", t)[
        0
    ]
    found = _types_in(t)
    if len(found) != 1 or not t.strip().lower().replace(
        "textstring", "text string"
    ).replace("date time", "date-time").startswith(ITEM_TYPE_NAMES[found[0]].lower()):
        return None
    return found[0]


def extract(text: str) -> VersionData:
    """Read tags, enumerations, types and attribute rules from one spec text."""
    vd = VersionData()
    tables = read_tables(text)
    last_items: tuple[str, list[str]] = ("", [])
    for t in tables:
        rows = t.rows
        title = clean_enum_name(t.heading)
        # -- tag table
        if (
            len(rows) > 2
            and len(rows[0]) == 1
            and rows[0][0] == "Tag"
            and len(rows[1]) == 2
        ):
            for row in rows[2:]:
                if len(row) != 2:
                    continue
                m = _HEX_RE.match(row[1])
                if m and row[0] and not row[0].startswith("(") and row[0] != "Reserved":
                    vd.tags[int(m.group(1), 16)] = row[0]
            continue
        # -- enumeration / mask tables
        if (
            len(rows) > 2
            and rows[1] == ["Name", "Value"]
            and ("Enumeration" in t.heading or title in MASKS)
        ):
            name = title
            values = vd.enums.setdefault(name, {})
            vd.enum_sections[re.match(r"^[\d.]+", t.heading).group(0).rstrip(".")] = (
                name
            )
            for row in rows[2:]:
                if len(row) != 2 or not row[0]:
                    continue
                m = _HEX_RE.match(row[1])
                if not m or row[0].startswith("("):
                    continue
                values.setdefault(int(m.group(1), 16), row[0])
            continue
        # -- item types: 1.x cross reference, Object/Item | Encoding tables, payload descriptions
        for i, row in enumerate(rows):
            if row[:3] == ["Object", "Defined", "Type"]:
                for rr in rows[i + 1 :]:
                    if len(rr) >= 3 and rr[0]:
                        _note_type(vd, rr[0], rr[2], rr[1])
                break
            if (
                len(row) >= 2
                and row[0] in ("Object", "Item")
                and row[1] in ("Encoding", "Type")
            ):
                body = [rr for rr in rows[i + 1 :] if len(rr) >= 2 and rr[0]]
                if len(body) > 1 and any(rr[0] == body[0][0] for rr in body[1:]):
                    body = body[
                        1:
                    ]  # 2.x PKCS#11 tables list the field under its own name twice
                for rr in body:
                    _note_type(vd, rr[0], rr[1], rr[1], definition=True)
                cap = re.match(r"Table \d+:\s*(.*?)\s+Attribute$", t.caption)
                if (
                    cap
                    and len(body) == 1
                    and body[0][0] != cap.group(1)
                    and title == cap.group(1)
                ):
                    _note_type(
                        vd, cap.group(1), body[0][1], body[0][1]
                    )  # e.g. 2.1 Comment
                break
            if len(row) >= 3 and row[0] in ("Object", "Item") and row[1] == "REQUIRED":
                for rr in rows[i + 1 :]:
                    if len(rr) >= 3 and rr[0]:
                        m = _DESC_TYPE_RE.match(rr[-1])
                        if m:
                            name = re.sub(r",?\s*see\s.*$", "", rr[0]).strip()
                            vd.weak_types.setdefault(name, []).append(
                                _parse_type(m.group(1)) or 0
                            )
                break
        # -- attribute rules
        if rows and rows[0] and rows[0][0].lower() == "shall always have a value":
            names = _attribute_names(t)
            if title.endswith(" Attributes") and last_items[0] == t.heading:
                # 2.x "Certificate Attributes": one rule table for every item listed before it
                names = [(n,) for n in last_items[1]]
            for cands in names:
                rules = vd.attr_rules.setdefault(cands[0], {})
                vd.attr_candidates[cands[0]] = list(cands)
                for row in rows:
                    if len(row) >= 2 and row[0]:
                        rules.setdefault(row[0], row[1])
        elif rows and len(rows[0]) >= 2 and rows[0][:2] == ["Item", "Encoding"]:
            last_items = (t.heading, [r[0] for r in rows[1:] if r and r[0]])
    return vd


def _attribute_names(t: Table) -> list[tuple[str, ...]]:
    """Candidate attribute names for a rule table: caption name, heading title, "<name> Attribute"."""
    m = re.match(
        r"Table \d+:\s*(.*?)\s+(?:Attribute\s+)?(?:Structure\s+)?Rules?\b", t.caption
    )
    heading = re.sub(r"^\d+(\.\d+)*\.?\s+", "", t.heading).strip()
    if not m:
        return [(heading,)]
    name = m.group(1).strip()
    if not name or re.fullmatch(r"Table \d+:\s*Attribute Rules", t.caption):
        return []  # the generic explanation table at the start of the attributes chapter
    return [(name, heading, name + " Attribute")]


def _note_type(
    vd: VersionData, name: str, enc: str, refs: str, definition: bool = False
) -> None:
    name = re.sub(r",?\s*see\s.*$", "", name).strip()
    name = re.sub(r"\s*\(.*?\)$", "", name).strip()
    typ = _parse_type(enc)
    if typ is not None:
        vd.types.setdefault(name, []).append(typ)
        if definition:
            vd.variant_types.setdefault(name, []).append(typ)
    elif len(_types_in(enc)) > 1:
        vd.variant_types.setdefault(name, []).extend(_types_in(enc))
    else:
        ref = re.sub(r"\s*\(.*$", "", enc).strip()
        if ref and ref != name:
            vd.ref_types.setdefault(name, []).append(
                ref
            )  # "RNG Parameters (see 2.1.18)"
    if typ == 5:
        for ref in re.findall(r"\d+(?:\.\d+)+", refs):
            vd.enum_refs.setdefault(name, set()).add(ref)


# --------------------------------------------------------------------------- merging


@dataclass
class Merged:
    """Data merged over all versions, ready to be written."""

    tag_names: dict[int, str]  # newest spec name
    tag_aliases: dict[int, list[str]]  # older names
    tag_versions: dict[int, int]  # bit mask over VERSIONS
    tag_types: dict[int, int]
    tag_variant_types: dict[int, tuple[int, ...]]
    tag_version_types: dict[int, tuple[tuple[int, int], ...]]  # (version bits, type)
    enums: dict[str, dict[int, str]]  # enum -> value -> newest name
    enum_aliases: dict[str, dict[int, list[str]]]
    enum_versions: dict[str, dict[int, int]]
    enum_for_tag: dict[int, str]
    attributes: list[dict[str, object]]


def merge(data: dict[tuple[int, int], VersionData]) -> Merged:
    """Merge per-version data: newest names win, older names become aliases."""
    tag_names: dict[int, str] = {}
    tag_aliases: dict[int, list[str]] = {}
    tag_versions: dict[int, int] = {}
    for bit, v in enumerate(VERSIONS):
        for value, name in data[v].tags.items():
            tag_versions[value] = tag_versions.get(value, 0) | (1 << bit)
            old = tag_names.get(value)
            if old is not None and member_name(old) != member_name(name):
                tag_aliases.setdefault(value, []).append(old)
            tag_names[value] = name
    for value, names in tag_aliases.items():
        new = member_name(tag_names[value])
        tag_aliases[value] = sorted({n for n in names if member_name(n) != new})

    enums: dict[str, dict[int, str]] = {}
    enum_aliases: dict[str, dict[int, list[str]]] = {}
    enum_versions: dict[str, dict[int, int]] = {}
    for bit, v in enumerate(VERSIONS):
        for ename, values in data[v].enums.items():
            cur = enums.setdefault(ename, {})
            vers = enum_versions.setdefault(ename, {})
            for value, vname in values.items():
                vers[value] = vers.get(value, 0) | (1 << bit)
                old = cur.get(value)
                if old is not None and member_name(old) != member_name(vname):
                    enum_aliases.setdefault(ename, {}).setdefault(value, []).append(old)
                cur[value] = vname
    for ename, supp in SUPPLEMENTS.items():
        cur = enums.setdefault(ename, {})
        vers = enum_versions.setdefault(ename, {})
        for vname, (value, vlist) in supp.items():
            cur.setdefault(value, vname)
            for v in vlist:
                vers[value] = vers.get(value, 0) | (1 << VERSIONS.index(v))

    # item types: newest version with an unambiguous answer wins
    name_to_tag = {norm(n): t for t, n in tag_names.items()}
    for t, names in tag_aliases.items():
        for n in names:
            name_to_tag.setdefault(norm(n), t)
    tag_types: dict[int, int] = {}
    per_version: dict[int, dict[int, int]] = {}  # tag -> type -> version bits
    for bit, v in enumerate(VERSIONS):
        votes: dict[int, dict[int, int]] = {}
        for name, types in data[v].types.items():
            tag = name_to_tag.get(norm(name))
            if tag is None:
                continue
            counts = votes.setdefault(tag, {})
            for typ in types:
                counts[typ] = counts.get(typ, 0) + 1
        for tag, counts in sorted(votes.items()):
            best = max(sorted(counts), key=lambda k: counts[k])
            tag_types[tag] = best
            kinds = per_version.setdefault(tag, {})
            kinds[best] = kinds.get(best, 0) | (1 << bit)
    version_types = {
        tag: tuple(sorted((bits, typ) for typ, bits in kinds.items()))
        for tag, kinds in sorted(per_version.items())
        if len(kinds) > 1
    }
    # weaker sources, only for tags no table types: a structure named as the encoding, then
    # payload descriptions ("An Integer object that ...")
    for v in reversed(VERSIONS):
        for name, refs in sorted(data[v].ref_types.items()):
            tag = name_to_tag.get(norm(name))
            if tag is None or tag in tag_types:
                continue
            for ref in refs:
                rtag = name_to_tag.get(norm(ref))
                if rtag is not None and tag_types.get(rtag) == 1:
                    tag_types[tag] = 1
                    break
    for v in reversed(VERSIONS):
        for name, types in sorted(data[v].weak_types.items()):
            tag = name_to_tag.get(norm(name))
            known = [t for t in types if t]
            if tag is None or tag in tag_types or not known:
                continue
            if len(set(known)) == 1:
                tag_types[tag] = known[0]
    # every type a tag may carry (Key Value: Byte String when wrapped, else Structure)
    tag_variants: dict[int, set[int]] = {}
    for v in VERSIONS:
        for name, types in data[v].variant_types.items():
            tag = name_to_tag.get(norm(name))
            if tag is not None:
                tag_variants.setdefault(tag, set()).update(types)
    for tag, kinds in tag_variants.items():
        if tag not in tag_types:
            tag_types[tag] = min(kinds)
    for name, typ_name in TYPE_FALLBACKS.items():
        tag = name_to_tag.get(norm(name))
        if tag is not None and tag not in tag_types:
            tag_types[tag] = ITEM_TYPES[typ_name]
    variant_types = {
        tag: tuple(sorted(kinds | {tag_types[tag]}))
        for tag, kinds in sorted(tag_variants.items())
        if len(kinds | {tag_types[tag]}) > 1
    }
    for mask in MASKS:
        tag = name_to_tag.get(norm(mask))
        if tag is not None:
            tag_types[tag] = 2

    # enumeration carried by each Enumeration-typed tag
    enum_by_norm = {norm(e): e for e in enums}
    enum_for_tag: dict[int, str] = {}
    for tag, typ in sorted(tag_types.items()):
        if typ != 5 and 5 not in variant_types.get(tag, ()):
            continue
        name = tag_names[tag]
        target = ENUM_FOR_TAG_OVERRIDES.get(name)
        if target is None and norm(name) in enum_by_norm:
            target = enum_by_norm[norm(name)]
        if target is None:
            for v in reversed(VERSIONS):
                for ref in sorted(data[v].enum_refs.get(name, ())):
                    if ref in data[v].enum_sections:
                        target = data[v].enum_sections[ref]
                        break
                if target:
                    break
        if target is None:
            for alias in tag_aliases.get(tag, []):
                if norm(alias) in enum_by_norm:
                    target = enum_by_norm[norm(alias)]
        if target == "Tag" or (
            target is not None and target in enums and target not in MASKS
        ):
            enum_for_tag[tag] = target

    attributes = merge_attributes(data, name_to_tag, tag_types)
    return Merged(
        tag_names,
        tag_aliases,
        tag_versions,
        tag_types,
        variant_types,
        version_types,
        enums,
        enum_aliases,
        enum_versions,
        enum_for_tag,
        attributes,
    )


# --------------------------------------------------------------------------- attributes

_OBJECT_TYPES = {
    "certificate": "CERTIFICATE",
    "symmetric key": "SYMMETRIC_KEY",
    "symmetric keys": "SYMMETRIC_KEY",
    "public key": "PUBLIC_KEY",
    "public keys": "PUBLIC_KEY",
    "private key": "PRIVATE_KEY",
    "private keys": "PRIVATE_KEY",
    "split key": "SPLIT_KEY",
    "split keys": "SPLIT_KEY",
    "template": "TEMPLATE",
    "templates": "TEMPLATE",
    "secret data": "SECRET_DATA",
    "opaque object": "OPAQUE_OBJECT",
    "opaque data": "OPAQUE_OBJECT",
    "pgp key": "PGP_KEY",
    "certificate request": "CERTIFICATE_REQUEST",
}


def _yes(text: str | None) -> bool | None:
    if text is None:
        return None
    t = text.strip().lower()
    if t.startswith("yes"):
        return True
    if t.startswith("no"):
        return False
    return None


def _key(rules: dict[str, str], *prefixes: str) -> str | None:
    for k, v in rules.items():
        kl = k.lower()
        if any(kl.startswith(p) for p in prefixes):
            return v
    return None


_CRYPTO_OBJECTS = (
    "CERTIFICATE",
    "SYMMETRIC_KEY",
    "PUBLIC_KEY",
    "PRIVATE_KEY",
    "SPLIT_KEY",
    "SECRET_DATA",
    "PGP_KEY",
)
_GROUPS = {
    # "Managed Cryptographic Objects are the subset of Managed Objects that contain cryptographic
    # material" (1.x 2.2): everything except Template, Opaque Object (and Certificate Request).
    "all cryptographic objects": _CRYPTO_OBJECTS,
    "managed cryptographic objects": _CRYPTO_OBJECTS,
    "asymmetric keys": ("PUBLIC_KEY", "PRIVATE_KEY"),
    "keys": ("SYMMETRIC_KEY", "PUBLIC_KEY", "PRIVATE_KEY", "SPLIT_KEY"),
    "pgp keys": ("PGP_KEY",),
    "split keys of symmetric keys": ("SPLIT_KEY",),
    "x 509 certificates": ("CERTIFICATE",),
    "certificates": ("CERTIFICATE",),
    "opaque objects": ("OPAQUE_OBJECT",),
}


def _object_types(text: str | None) -> list[str]:
    """ObjectType member names an "Applies to Object Types" cell lists ([] = all objects)."""
    if not text:
        return []
    t = text.lower()
    if t.startswith(("all objects", "which")):
        return []
    out: set[str] = set()
    rest = " " + re.sub(r"[^a-z0-9 ]+", " ", t) + " "
    rest = " ".join(rest.split())
    rest = f" {rest} "
    names = dict(_GROUPS)
    names.update({k: (v,) for k, v in _OBJECT_TYPES.items()})
    # longest phrases first so "certificate request" is not read as "certificate"
    for name in sorted(names, key=lambda n: (-len(n), n)):
        pat = " " + name + " "
        while pat in rest:
            out.update(names[name])
            rest = rest.replace(pat, " ", 1)
    return sorted(out)


def merge_attributes(
    data: dict[tuple[int, int], VersionData],
    name_to_tag: dict[str, int],
    tag_types: dict[int, int],
) -> list[dict[str, object]]:
    """One record per attribute name (1.x name where one exists), newest rules winning."""
    by_tag: dict[int, dict[str, object]] = {}
    for bit, v in enumerate(VERSIONS):
        for name, rules in data[v].attr_rules.items():
            tag = None
            for cand in data[v].attr_candidates.get(name, [name]):
                tag = name_to_tag.get(norm(cand))
                if tag is not None:
                    break
            if tag is None:
                continue
            rec = by_tag.setdefault(tag, {"name": cand, "tag": tag, "versions": 0})
            rec["versions"] = int(rec["versions"]) | (1 << bit)  # type: ignore[call-overload]
            init = (_key(rules, "initially set by") or "").lower()
            rec["initially_set_by"] = sorted(
                w for w in ("server", "client") if w in init
            )
            rec["always_present"] = bool(_yes(_key(rules, "shall always have a value")))
            rec["modifiable_by_server"] = bool(
                _yes(_key(rules, "modifiable by server"))
            )
            rec["modifiable_by_client"] = bool(
                _yes(_key(rules, "modifiable by client"))
            )
            rec["deletable_by_client"] = bool(_yes(_key(rules, "deletable by client")))
            rec["multiple"] = bool(_yes(_key(rules, "multiple instances permitted")))
            rec["object_types"] = _object_types(_key(rules, "applies to object types"))
            rec["item_type"] = tag_types.get(tag, 0)
    return [by_tag[t] for t in sorted(by_tag)]


# --------------------------------------------------------------------------- rendering


def _unique_members(pairs: list[tuple[str, int]]) -> list[tuple[str, int]]:
    """Drop member names that would collide with an earlier, different-valued member."""
    seen: dict[str, int] = {}
    out = []
    for name, value in pairs:
        if name in seen:
            if seen[name] == value:
                continue
            base = name
            k = 2
            while name in seen:
                name = f"{base}_{k}"
                k += 1
        seen[name] = value
        out.append((name, value))
    return out


def _q(text: str) -> str:
    """A double-quoted Python string literal (the form ruff format keeps)."""
    return json.dumps(text, ensure_ascii=False)


def _lit(value: object) -> str:
    """Literal for str / bool / int / tuple-of-str values, formatted like ruff format."""
    if isinstance(value, str):
        return _q(value)
    if isinstance(value, tuple):
        if len(value) == 1:
            return f"({_lit(value[0])},)"
        return "(" + ", ".join(_lit(v) for v in value) + ")"
    return repr(value)


def render(m: Merged) -> str:
    """The generated module's source text."""
    w: list[str] = []
    a = w.append
    a(
        '"""KMIP specification data generated by tools/gen_spec.py from the OASIS spec texts.'
    )
    a("")
    a(
        "DO NOT EDIT: regenerate with ``python tools/gen_spec.py``.  Use the public API in ``kmipd.spec``."
    )
    a('"""')
    a("")
    a("from __future__ import annotations")
    a("")
    a("import enum")
    a("")
    names = ["VERSIONS", *sorted(["Tag"] + [class_name(e) for e in m.enums])]
    a("__all__ = [")
    for n in names:
        a(f"    {_q(n)},")
    a("]")
    a("")
    a("VERSIONS: tuple[tuple[int, int], ...] = (")
    for v in VERSIONS:
        a(f"    {v!r},")
    a(")")
    a("")
    a("")
    a("class Tag(enum.IntEnum):")
    a(
        '    """KMIP tags of versions 1.0-2.1 (older names of renamed tags are aliases)."""'
    )
    a("")
    pairs: list[tuple[str, int]] = []
    for value in sorted(m.tag_names):
        pairs.append((member_name(m.tag_names[value]), value))
    for value in sorted(m.tag_aliases):
        for alias in m.tag_aliases[value]:
            pairs.append((member_name(alias), value))
    for name, value in _unique_members(pairs):
        a(f"    {name} = 0x{value:06X}")
    a("")
    a("")
    a("# Tag value -> name in the newest spec defining it.")
    a("TAG_NAMES: dict[int, str] = {")
    for value in sorted(m.tag_names):
        a(f"    0x{value:06X}: {_q(m.tag_names[value])},")
    a("}")
    a("")
    a("# Tag value -> older spec names.")
    a("TAG_ALIASES: dict[int, tuple[str, ...]] = {")
    for value in sorted(m.tag_aliases):
        if m.tag_aliases[value]:
            a(f"    0x{value:06X}: {_lit(tuple(m.tag_aliases[value]))},")
    a("}")
    a("")
    a("# Tag value -> bit mask over VERSIONS (bit i set: defined in VERSIONS[i]).")
    a("TAG_VERSION_BITS: dict[int, int] = {")
    for value in sorted(m.tag_versions):
        a(f"    0x{value:06X}: 0b{m.tag_versions[value]:07b},")
    a("}")
    a("")
    a("# Tag value -> TTLV item type (1 Structure ... 11 Date-Time Extended).")
    a("TAG_TYPES: dict[int, int] = {")
    for value in sorted(m.tag_types):
        a(
            f"    0x{value:06X}: {m.tag_types[value]},  # {ITEM_TYPE_NAMES[m.tag_types[value]]}"
        )
    a("}")
    a("")
    a(
        "# Tags the spec allows with more than one item type (Key Value: Byte String when wrapped)."
    )
    a("TAG_VARIANT_TYPES: dict[int, tuple[int, ...]] = {")
    for value, kinds in sorted(m.tag_variant_types.items()):
        a(
            f"    0x{value:06X}: {kinds!r},  # {', '.join(ITEM_TYPE_NAMES[k] for k in kinds)}"
        )
    a("}")
    a("")
    a("# Tags whose item type changed between versions: ((version bits, type), ...).")
    a("TAG_VERSION_TYPES: dict[int, tuple[tuple[int, int], ...]] = {")
    for value, pairs in sorted(m.tag_version_types.items()):
        text = ", ".join(f"(0b{bits:07b}, {typ})" for bits, typ in pairs)
        a(f"    0x{value:06X}: ({text}),  # {m.tag_names[value]}")
    a("}")
    a("")
    class_for: dict[str, str] = {"Tag": "Tag"}
    for ename in sorted(m.enums, key=class_name):
        cls = class_name(ename)
        class_for[ename] = cls
        base = "enum.IntFlag" if ename in MASKS else "enum.IntEnum"
        a("")
        a(f"class {cls}({base}):")
        a(f'    """KMIP {ename} {"mask" if ename in MASKS else "enumeration"}."""')
        pairs = [(member_name(n), v) for v, n in sorted(m.enums[ename].items())]
        if pairs:
            a("")
        for value, olds in sorted(m.enum_aliases.get(ename, {}).items()):
            for old in sorted(set(olds)):
                pairs.append((member_name(old), value))
        for name, value in _unique_members(pairs):
            a(f"    {name} = 0x{value:08X}")
        a("")
    a("")
    a("# Enumeration spec name -> class.")
    a("ENUMS: dict[str, type[enum.IntEnum] | type[enum.IntFlag]] = {")
    for ename in sorted(m.enums):
        a(f"    {_q(ename)}: {class_for[ename]},")
    a("}")
    a("")
    a("# Enumeration class name -> value -> spec name (newest).")
    a("ENUM_VALUE_NAMES: dict[str, dict[int, str]] = {")
    for ename in sorted(m.enums, key=class_name):
        a(f"    {_q(class_for[ename])}: {{")
        for value, vname in sorted(m.enums[ename].items()):
            a(f"        0x{value:08X}: {_q(vname)},")
        a("    },")
    a("}")
    a("")
    a("# Enumeration class name -> value -> older spec names.")
    a("ENUM_VALUE_ALIASES: dict[str, dict[int, tuple[str, ...]]] = {")
    for ename in sorted(m.enum_aliases, key=class_name):
        a(f"    {_q(class_for[ename])}: {{")
        for value, olds in sorted(m.enum_aliases[ename].items()):
            a(f"        0x{value:08X}: {_lit(tuple(sorted(set(olds))))},")
        a("    },")
    a("}")
    a("")
    a("# Enumeration class name -> value -> bit mask over VERSIONS.")
    a("ENUM_VERSION_BITS: dict[str, dict[int, int]] = {")
    for ename in sorted(m.enums, key=class_name):
        a(f"    {_q(class_for[ename])}: {{")
        for value, bits in sorted(m.enum_versions[ename].items()):
            a(f"        0x{value:08X}: 0b{bits:07b},")
        a("    },")
    a("}")
    a("")
    a("# Enumeration-typed tag -> the enumeration it carries.")
    a("ENUM_FOR_TAG: dict[int, type[enum.IntEnum]] = {")
    for tag in sorted(m.enum_for_tag):
        a(f"    0x{tag:06X}: {class_for[m.enum_for_tag[tag]]},  # {m.tag_names[tag]}")
    a("}")
    a("")
    a("# Mask-typed (Integer) tag -> the mask it carries.")
    a("MASK_FOR_TAG: dict[int, type[enum.IntFlag]] = {")
    by_name = {n: t for t, n in m.tag_names.items()}
    for mask in MASKS:
        if mask in by_name and mask in class_for:
            a(f"    0x{by_name[mask]:06X}: {class_for[mask]},  # {mask}")
    a("}")
    a("")
    a("# Attribute rule rows (see kmipd.spec.attributes).")
    a("ATTRIBUTE_RULES: tuple[dict[str, object], ...] = (")
    for rec in m.attributes:
        a("    {")
        for k in sorted(rec):
            val = rec[k]
            if k == "tag":
                a(f'        "tag": 0x{val:06X},')
            elif k == "versions":
                a(f'        "versions": 0b{val:07b},')
            elif isinstance(val, list):
                a(f"        {_q(k)}: {_lit(tuple(val))},")
            else:
                a(f"        {_q(k)}: {_lit(val)},")
        a("    },")
    a(")")
    a("")
    # empty mappings on one line, as ruff format writes them
    return re.sub(r"\{\n[ ]*\}", "{}", "\n".join(w))


# --------------------------------------------------------------------------- entry points


def load(spec_dir: str = DEFAULT_SPEC_DIR) -> dict[tuple[int, int], VersionData]:
    """Read every version's spec text."""
    out = {}
    for v in VERSIONS:
        with open(os.path.join(spec_dir, SPEC_FILES[v]), encoding="utf-8") as f:
            out[v] = extract(f.read())
    return out


def generate(spec_dir: str = DEFAULT_SPEC_DIR) -> str:
    """Return the generated module text for the specs in spec_dir."""
    return render(merge(load(spec_dir)))


def main(argv: list[str] | None = None) -> int:
    """Command line entry point."""
    p = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    p.add_argument("--spec-dir", default=DEFAULT_SPEC_DIR)
    p.add_argument("--output", default=DEFAULT_OUTPUT)
    p.add_argument(
        "--check", action="store_true", help="fail if the output file is stale"
    )
    args = p.parse_args(argv)
    text = generate(args.spec_dir)
    if args.check:
        with open(args.output, encoding="utf-8") as f:
            if f.read() != text:
                print(
                    f"{args.output} is out of date; run tools/gen_spec.py",
                    file=sys.stderr,
                )
                return 1
        return 0
    with open(args.output, "w", encoding="utf-8", newline="\n") as f:
        f.write(text)
    print(f"wrote {args.output}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
