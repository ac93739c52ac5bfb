#!/usr/bin/env python3
"""Charset oracle for packages/core/test/charset.test.ts.

Prints a JSON document describing every text element (PN/LO/SH/ST/LT/UT/UC)
of the selected DICOM files, together with the raw value bytes and the value
as decoded by pydicom (the reference implementation used as an oracle).

Usage:
  charset_oracle.py [--all DIR]... [--nontrivial DIR]...

  --all DIR         every file under DIR is reported
  --nontrivial DIR  files under DIR are reported only when their top-level
                    Specific Character Set (0008,0005) is something other than
                    empty / absent / ISO_IR 100 / ISO_IR 6

Output: {"pydicomVersion": "...", "files": [...], "elements": [
  {"file", "path", "tag", "vr", "rawBytesHex", "specificCharacterSet",
   "pydicomValue"}]}
where specificCharacterSet is the raw (0008,0005) value in effect for the
element (backslash separated, padding included, "" when absent) and
pydicomValue is pydicom's decoded value, multiple values joined with "\\".
Sequence items are followed; an item's own (0008,0005) overrides its parent's.
"""
import json
import os
import sys
import warnings

try:
    import pydicom
    from pydicom.dataelem import RawDataElement
    from pydicom.tag import Tag
except ImportError:  # pragma: no cover
    sys.stderr.write('PYDICOM_MISSING: python3 cannot import pydicom '
                     '(install python3-pydicom)\n')
    sys.exit(3)

TEXT_VRS = {'PN', 'LO', 'SH', 'ST', 'LT', 'UT', 'UC'}
TRIVIAL = {'', 'ISO_IR 100', 'ISO_IR 6'}
SCS_TAG = Tag(0x0008, 0x0005)


def raw_scs(ds, inherited):
    """Return the raw (0008,0005) string of ds, or the inherited one."""
    if SCS_TAG not in ds:
        return inherited
    raw = ds.get_item(SCS_TAG)
    value = raw.value if raw is not None else None
    if isinstance(value, bytes):
        return value.decode('latin-1')
    elem = ds[SCS_TAG]
    v = elem.value
    if v is None:
        return ''
    if isinstance(v, str):
        return v
    return '\\'.join(v)


def as_text(value):
    if value is None:
        return ''
    if isinstance(value, (list, tuple, pydicom.multival.MultiValue)):
        return '\\'.join(as_text(v) for v in value)
    return str(value)


def walk(ds, scs, path, file, out):
    scs = raw_scs(ds, scs)
    for tag in list(ds.keys()):
        raw = ds.get_item(tag)
        elem = ds[tag]
        tag_str = '%04X%04X' % (tag.group, tag.element)
        if elem.VR == 'SQ':
            for i, item in enumerate(elem.value):
                walk(item, scs, '%s%s[%d].' % (path, tag_str, i), file, out)
            continue
        if elem.VR not in TEXT_VRS:
            continue
        if not isinstance(raw, RawDataElement) or not isinstance(raw.value, bytes):
            continue
        out.append({
            'file': file,
            'path': path + tag_str,
            'tag': tag_str,
            'vr': elem.VR,
            'rawBytesHex': raw.value.hex(),
            'specificCharacterSet': scs,
            'pydicomValue': as_text(elem.value),
        })


def iter_files(root):
    for dirpath, dirnames, filenames in os.walk(root):
        dirnames.sort()
        for name in sorted(filenames):
            yield os.path.join(dirpath, name)


def main(argv):
    selections = []
    i = 0
    while i < len(argv):
        if argv[i] in ('--all', '--nontrivial') and i + 1 < len(argv):
            selections.append((argv[i] == '--all', argv[i + 1]))
            i += 2
        else:
            sys.stderr.write('usage: charset_oracle.py [--all DIR]... [--nontrivial DIR]...\n')
            return 2
    warnings.simplefilter('ignore')
    files, elements, seen = [], [], set()
    for take_all, root in selections:
        for path in iter_files(root):
            real = os.path.realpath(path)
            if real in seen:
                continue
            try:
                ds = pydicom.dcmread(path, stop_before_pixels=True, force=True)
                scs = raw_scs(ds, '')
            except Exception:
                continue
            if 'TransferSyntaxUID' not in ds.file_meta and len(ds) == 0:
                continue
            normalized = '\\'.join(t.strip(' \0') for t in scs.split('\\')).strip('\\')
            if not take_all and normalized in TRIVIAL:
                continue
            seen.add(real)
            before = len(elements)
            try:
                walk(ds, '', '', path, elements)
            except Exception as exc:  # unreadable content: report and skip
                del elements[before:]
                sys.stderr.write('skip %s: %s\n' % (path, type(exc).__name__))
                continue
            files.append({'file': path, 'specificCharacterSet': scs})
    json.dump({'pydicomVersion': pydicom.__version__, 'files': files,
               'elements': elements}, sys.stdout, ensure_ascii=True)
    return 0


if __name__ == '__main__':
    sys.exit(main(sys.argv[1:]))
