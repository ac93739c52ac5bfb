#!/usr/bin/python3
"""Basic Profile de-identification with pydicom, a peer in Veil's de-identification benchmark (bench/deid.bench.ts).

Usage: python3 bench/peers/pydicom_deid.py PROFILE_JSON LIST OUTDIR

PROFILE_JSON is the Table E.1-1 list written by bench/peers/basic-profile.ts (one action per tag, compounds resolved
as Veil does). For each file named in LIST (one path a line): dcmread, remove the private tags, walk the dataset at
every depth applying X (delete), Z (empty), D (dummy by VR; sequences and binary VRs deleted), U (keyed UID remap:
2.25.<HMAC-SHA-256 of the UID as an integer>, UIDs under 1.2.840.10008 kept), set PatientIdentityRemoved, update
the file meta's MediaStorageSOPInstanceUID, and save_as into OUTDIR under the same base name. Prints one JSON line
{"files": N, "bytes": B, "ms": T} (the loop only, without the interpreter's start).
"""
import hashlib
import hmac
import json
import os
import sys
import time

import pydicom
from pydicom.sequence import Sequence

KEY = b"veil-bench-pydicom-peer-key-0000"


def load_profile(path):
    with open(path, encoding="utf-8") as f:
        p = json.load(f)
    exact = {int(k, 16): v for k, v in p["exact"].items()}
    masks = [(m["mask"], m["value"], m["action"]) for m in p["masks"]]
    return exact, masks, p["dummies"]


def remap_uid(uid, cache):
    uid = str(uid)
    if uid.startswith("1.2.840.10008") or uid == "":
        return uid
    got = cache.get(uid)
    if got is None:
        digest = hmac.new(KEY, ("uid:" + uid).encode("ascii", "replace"), hashlib.sha256).digest()
        got = "2.25." + str(int.from_bytes(digest[:16], "big"))
        cache[uid] = got
    return got


def action_of(tag, exact, masks):
    a = exact.get(tag)
    if a is not None:
        return a
    for mask, value, action in masks:
        if (tag & mask) == value:
            return action
    return None


def deid_dataset(ds, exact, masks, dummies, uids):
    for elem in list(ds):
        tag = int(elem.tag)
        action = action_of(tag, exact, masks)
        vr = elem.VR
        if action == "X":
            del ds[elem.tag]
            continue
        if action == "Z":
            if vr == "SQ":
                elem.value = Sequence()
            else:
                elem.value = None if vr not in ("OB", "OW", "UN") else b""
            continue
        if action == "D":
            if elem.is_empty:
                continue
            dummy = dummies.get(vr)
            if vr == "SQ" or dummy is None:
                del ds[elem.tag]
            else:
                elem.value = dummy
            continue
        if action == "U" and vr == "UI":
            v = elem.value
            if isinstance(v, (list, pydicom.multival.MultiValue)):
                elem.value = [remap_uid(x, uids) for x in v]
            elif v:
                elem.value = remap_uid(v, uids)
            continue
        if vr == "SQ":
            for item in elem.value:
                deid_dataset(item, exact, masks, dummies, uids)


def main():
    profile, list_path, out_dir = sys.argv[1:4]
    exact, masks, dummies = load_profile(profile)
    with open(list_path, encoding="utf-8") as f:
        inputs = [line.strip() for line in f if line.strip()]
    uids = {}
    total = 0
    t0 = time.perf_counter()
    for path in inputs:
        ds = pydicom.dcmread(path)
        ds.remove_private_tags()
        deid_dataset(ds, exact, masks, dummies, uids)
        ds.PatientIdentityRemoved = "YES"
        if "SOPInstanceUID" in ds and getattr(ds, "file_meta", None) is not None:
            ds.file_meta.MediaStorageSOPInstanceUID = ds.SOPInstanceUID
        ds.save_as(os.path.join(out_dir, os.path.basename(path)), write_like_original=True)
        total += os.path.getsize(path)
    ms = (time.perf_counter() - t0) * 1000
    print(json.dumps({"files": len(inputs), "bytes": total, "ms": ms}))


if __name__ == "__main__":
    main()
