#!/usr/bin/python3
"""Flattens DICOM files for bench/peers/compare.ts, with pydicom as a parser independent of Veil's.

Usage: python3 bench/peers/flatten_dicom.py < [{"id": ..., "path": ...}, ...] > {id: {...}}

For each file: every element of the file meta and of the data set, at every depth, as
{"p": tag path, "k": keyword path, "vr": VR, "n": value count (items for SQ), "e": empty?, "h": digest, "std": UID
under 1.2.840.10008?}. Tag paths look like (0008,1110)[0]/(0008,1155); private tags carry their creator,
(0009,"ACME 1.0",01), so that a tool that moves a private block is still matched. "h" is the first 16 hex digits of
the SHA-256 of the normalised value (text stripped of padding, values joined by a backslash; binary values as bytes;
sequences by their item count): values are compared by digest and never printed.
"""
import hashlib
import json
import sys

import pydicom
from pydicom.datadict import keyword_for_tag

BINARY = {"OB", "OW", "OD", "OF", "OL", "OV", "UN"}


def digest(data):
    return hashlib.sha256(data).hexdigest()[:16]


def text_of(value):
    if value is None:
        return ""
    if isinstance(value, (list, tuple, pydicom.multival.MultiValue)):
        return "\\".join(text_of(v) for v in value)
    if isinstance(value, bytes):
        return value.decode("latin-1")
    return str(value)


def printable(s):
    return "".join(c if 32 <= ord(c) < 127 and c != '"' else "?" for c in s)


def tag_token(ds, elem):
    g, e = elem.tag.group, elem.tag.element
    if g % 2 == 1 and e >= 0x1000:
        creator_tag = pydicom.tag.Tag(g, e >> 8)
        creator = ds[creator_tag].value if creator_tag in ds else "?"
        if isinstance(creator, bytes):
            creator = creator.decode("latin-1")
        creator = printable(str(creator).strip())
        return '(%04X,"%s",%02X)' % (g, creator, e & 0xFF), "(%04X,xx%02X)" % (g, e & 0xFF)
    if g % 2 == 1 and 0x10 <= e <= 0xFF:
        creator = elem.value.decode("latin-1") if isinstance(elem.value, bytes) else str(elem.value)
        return '(%04X,"%s",creator)' % (g, printable(creator.strip())), "PrivateCreator"
    kw = keyword_for_tag(elem.tag) or "(%04X,%04X)" % (g, e)
    return "(%04X,%04X)" % (g, e), kw


def walk(ds, prefix, kprefix, out):
    for elem in ds:
        try:
            token, kw = tag_token(ds, elem)
        except Exception:  # noqa: BLE001
            token, kw = "(%04X,%04X)" % (elem.tag.group, elem.tag.element), "?"
        path = prefix + token
        kpath = kprefix + kw
        vr = elem.VR
        if vr == "SQ":
            items = elem.value or []
            out.append({"p": path, "k": kpath, "vr": "SQ", "n": len(items), "e": len(items) == 0,
                        "h": digest(str(len(items)).encode())})
            for i, item in enumerate(items):
                walk(item, "%s[%d]/" % (path, i), kpath + "/", out)
            continue
        std = False
        try:
            value = elem.value
        except Exception:  # noqa: BLE001
            value = b""
        if vr in BINARY or isinstance(value, bytes):
            data = value if isinstance(value, bytes) else b""
            n = 1 if data else 0
            empty = len(data) == 0
        else:
            text = text_of(value).rstrip("\x00 ").strip()
            data = text.encode("utf-8", "surrogateescape")
            n = 0 if text == "" else text.count("\\") + 1
            empty = text == ""
            if vr == "UI":
                std = all(v.startswith("1.2.840.10008") for v in text.split("\\")) and text != ""
        out.append({"p": path, "k": kpath, "vr": vr, "n": n, "e": empty, "h": digest(data), "std": std})


def flatten(path):
    ds = pydicom.dcmread(path, force=True)
    meta, data = [], []
    if getattr(ds, "file_meta", None) is not None:
        walk(ds.file_meta, "", "", meta)
    walk(ds, "", "", data)
    preamble = getattr(ds, "preamble", None)
    return {"meta": meta, "ds": data, "preambleZero": preamble is None or not any(preamble)}


def main():
    files = json.load(sys.stdin)
    result = {}
    for f in files:
        try:
            result[f["id"]] = flatten(f["path"])
        except Exception as e:  # noqa: BLE001
            result[f["id"]] = {"error": type(e).__name__}
    json.dump(result, sys.stdout)


if __name__ == "__main__":
    main()
