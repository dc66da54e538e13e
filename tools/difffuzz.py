#!/usr/bin/python3
# SPDX-License-Identifier: LGPL-2.1-or-later
"""
Differential fuzzer: imgscan against qemu-img on mutated image headers.

Seed images of every format are made with qemu-img (bochs, cloop and dmg,
which qemu-img cannot create, and the LUKS ones, whose creation times a key
derivation, come from fixtures/).  Each mutant is a copy of
one seed with one to three bounded header mutations: a field poke at a known
offset of that format (interesting values: 0, 1, all ones, powers of two,
the old value +-1, random), an interesting value anywhere in the first
4 KiB, or random bytes in the first 4 KiB or the last 512 bytes.  For every mutant `qemu-img info --output=json` and `imgscan -J`
run, and every difference is reported:

  format     qemu-img opens it as one format, imgscan says another;
  field      virtual-size, cluster-size, backing-filename, dirty-flag,
             backing-filename-format, encrypted or format-specific differ;
  refusal    qemu-img refuses the image and imgscan does not (no damaged
             reason: see imgscan_refuses());
  opened     imgscan says damaged where qemu-img opens the image.

Differences that are intended are listed once below (INTENDED), each with
its reason; they are counted, not reported.  Anything else fails the run.

Mutant N of seed S is always the same mutation (its random generator is
seeded with "S:N"), so a difference found in a bounded run reproduces with
`--seed S --only N`; --keep DIR keeps every differing mutant.

  python3 tools/difffuzz.py [--seed N] [--time SECONDS] [--max N] [--deep]
                            [--imgscan PATH] [--fixtures DIR] [--keep DIR]
                            [--only N] [-v]

Needs python3 and qemu-img (Debian: python3, qemu-utils).  Exit status: 0 no
unexplained difference, 1 some, 77 a tool is missing (automake's skip).
"""

import argparse
import json
import os
import random
import re
import shutil
import struct
import subprocess
import sys
import tempfile
import time

# ---------------------------------------------------------------------------
# What counts as imgscan refusing an image.  qemu-img refusing one is a
# failed `qemu-img info`; imgscan refusing one is a damaged reason or one of
# the safety checks below failing (imgscan runs with --check).


# the --check checks that stand for "qemu would not open this as it is": a
# refusal qemu makes is matched by one of them (damaged: the header is one
# qemu refuses; unknown-features: a version or incompatible bit imgscan does
# not know).  The other checks (backing-file ...) judge images qemu opens.
REFUSAL_CHECKS = ("damaged", "unknown-features")


def imgscan_refuses(obj):
    if obj.get("damaged"):
        return True
    failed = obj.get("safety", {}).get("failed", [])
    return any(f.get("check") in REFUSAL_CHECKS for f in failed)


# ---------------------------------------------------------------------------
# Seeds: (name, qemu-img create arguments, or a fixture to copy)

SECRET = ["--object", "secret,id=sec0,data=difffuzz"]

SEEDS = [
    ("qcow2", ["-f", "qcow2", "-o", "compat=1.1", "{d}/qcow2.img", "64M"]),
    ("qcow2-v2-backing", ["-f", "qcow2", "-o", "compat=0.10", "-u", "-b", "base.raw",
                          "-F", "raw", "{d}/qcow2-v2-backing.img", "64M"]),
    # small clusters: the tables and snapshots sit in the first 4 KiB
    ("qcow2-small", ["-f", "qcow2", "-o", "cluster_size=512", "-u", "-b", "base.qcow2",
                     "-F", "qcow2", "{d}/qcow2-small.img", "1M"]),
    ("qcow2-bitmap", ["-f", "qcow2", "{d}/qcow2-bitmap.img", "16M"],
     ["bitmap", "--add", "{d}/qcow2-bitmap.img", "b0"]),
    ("qcow2-datafile", ["-f", "qcow2", "-o", "data_file={d}/qcow2-datafile.data,data_file_raw=on",
                        "{d}/qcow2-datafile.img", "16M"]),
    # made by qemu-img, kept as a fixture (the PBKDF timing fails on a busy machine)
    ("qcow2-luks", "qcow2-deep-luks"),
    ("qcow", ["-f", "qcow", "-u", "-b", "base.raw", "-F", "raw", "{d}/qcow.img", "64M"]),
    ("qed", ["-f", "qed", "-u", "-b", "base.raw", "-F", "raw", "{d}/qed.img", "64M"]),
    ("vmdk", ["-f", "vmdk", "{d}/vmdk.img", "64M"]),
    ("vmdk-stream", ["-f", "vmdk", "-o", "subformat=streamOptimized", "{d}/vmdk-stream.img", "64M"]),
    ("vmdk-backing", ["-f", "vmdk", "-b", "vmdk.img", "-F", "vmdk", "{d}/vmdk-backing.img", "64M"]),
    ("vpc", ["-f", "vpc", "{d}/vpc.img", "64M"]),
    ("vpc-fixed", ["-f", "vpc", "-o", "subformat=fixed", "{d}/vpc-fixed.img", "8M"]),
    ("vhdx", ["-f", "vhdx", "{d}/vhdx.img", "64M"]),
    ("vdi", ["-f", "vdi", "{d}/vdi.img", "64M"]),
    ("parallels", ["-f", "parallels", "{d}/parallels.img", "64M"]),
    # made by qemu-img too, kept as a fixture: creating one times its PBKDF, which fails
    # ("Unable to get accurate CPU usage") on a busy machine
    ("luks", "luks-qemu-16M"),
    ("bochs", "bochs-10M"),
    ("cloop", "cloop-2M"),
    ("dmg", "dmg-zero-1M"),
]

# Known header fields per seed family: (offset, width, big_endian).  A
# negative offset counts from the end of the file.
BE, LE = True, False
FIELDS = {
    "qcow2": [(4, 4, BE), (8, 8, BE), (16, 4, BE), (20, 4, BE), (24, 8, BE), (32, 4, BE),
              (36, 4, BE), (40, 8, BE), (48, 8, BE), (56, 4, BE), (60, 4, BE), (64, 8, BE),
              (72, 8, BE), (80, 8, BE), (88, 8, BE), (96, 4, BE), (100, 4, BE), (104, 1, BE),
              (112, 4, BE), (116, 4, BE)],
    "qcow": [(4, 4, BE), (8, 8, BE), (16, 4, BE), (24, 8, BE), (32, 1, BE), (33, 1, BE),
             (36, 4, BE), (40, 8, BE)],
    "qed": [(4, 4, LE), (8, 4, LE), (12, 4, LE), (16, 8, LE), (24, 8, LE), (32, 8, LE),
            (40, 8, LE), (48, 8, LE), (56, 4, LE), (60, 4, LE)],
    "vmdk": [(4, 4, LE), (8, 4, LE), (12, 8, LE), (20, 8, LE), (28, 8, LE), (36, 8, LE),
             (44, 4, LE), (48, 8, LE), (56, 8, LE), (64, 8, LE), (72, 1, LE), (77, 2, LE),
             (-1024 + 12, 8, LE), (-1024 + 56, 8, LE)],
    "vpc": [(8, 4, BE), (12, 4, BE), (16, 8, BE), (40, 8, BE), (48, 8, BE), (56, 4, BE),
            (60, 4, BE), (520, 8, BE), (528, 8, BE), (536, 4, BE), (540, 4, BE), (544, 4, BE),
            (-512 + 12, 4, BE), (-512 + 48, 8, BE), (-512 + 60, 4, BE)],
    # file identifier; header 1 (64 KiB); region table 1 (192 KiB); the metadata table
    # and items where qemu-img puts them (3 MiB, 3 MiB + 64 KiB)
    "vhdx": [(0, 8, LE), (65536 + 8, 8, LE), (65536 + 64, 2, LE), (65536 + 66, 2, LE),
             (65536 + 68, 4, LE), (65536 + 72, 8, LE), (196608 + 8, 4, LE),
             (196608 + 32, 8, LE), (196608 + 40, 4, LE), (196608 + 44, 4, LE),
             (196608 + 64, 8, LE), (196608 + 72, 4, LE), (196608 + 76, 4, LE),
             (0x300000 + 10, 2, LE), (0x300000 + 48, 4, LE), (0x300000 + 52, 4, LE),
             (0x300000 + 56, 4, LE), (0x300000 + 80, 4, LE), (0x300000 + 88, 4, LE),
             (0x310000, 4, LE), (0x310004, 4, LE), (0x310008, 8, LE), (0x310020, 4, LE),
             (0x310024, 4, LE)],
    "vdi": [(64, 4, LE), (68, 4, LE), (72, 4, LE), (76, 4, LE), (80, 4, LE), (340, 4, LE),
            (344, 4, LE), (360, 4, LE), (368, 8, LE), (376, 4, LE), (380, 4, LE), (384, 4, LE),
            (388, 4, LE)],
    "parallels": [(16, 4, LE), (20, 4, LE), (24, 4, LE), (28, 4, LE), (32, 4, LE), (36, 8, LE),
                  (44, 4, LE), (48, 4, LE), (52, 4, LE), (56, 8, LE)],
    "luks": [(6, 2, BE), (104, 4, BE), (108, 4, BE), (168, 4, BE), (208, 4, BE), (212, 4, BE),
             (216, 4, BE), (220, 4, BE)],
    "bochs": [(64, 4, LE), (68, 4, LE), (72, 4, LE), (76, 4, LE), (80, 4, LE), (84, 8, LE),
              (88, 8, LE)],
    "cloop": [(128, 4, BE), (132, 4, BE), (136, 8, BE), (144, 8, BE)],
    "dmg": [(-512 + 4, 4, BE), (-512 + 8, 4, BE), (-512 + 0xd8, 8, BE), (-512 + 0xe0, 8, BE),
            (-512 + 0x1ec, 8, BE), (-512 + 0x28, 8, BE), (-512 + 0x30, 8, BE)],
}

COMPARED = ["virtual-size", "cluster-size", "backing-filename", "backing-filename-format",
            "encrypted", "dirty-flag", "format-specific"]

# ---------------------------------------------------------------------------
# Intended differences, each listed once with its reason.  A predicate gets
# (seed, qemu, img) where qemu is qemu-img's JSON object or {"error": text}
# and img is imgscan's object for the mutant (with "deep": the --deep object
# when the shallow one was asked again); it returns True when the difference
# is this one.


def _qfmt(q):
    return q.get("format")


INTENDED = [
    ("fixed-vhd",
     "a fixed VHD's only header is its footer at the end: qemu-img probes the start only and "
     "says raw; imgscan says vpc (documented in imgscan(8))",
     lambda s, q, i: i.get("format") == "vpc" and _qfmt(q) == "raw"
     and i.get("subformat") == "fixed"),
    ("polyglot",
     "two formats match (a footer at the end and a header at the start): imgscan reports "
     "ambiguous with every candidate, never one",
     lambda s, q, i: "ambiguous" in i),
    ("end-trailer",
     "a dmg koly trailer or a VHD footer written into the last 512 bytes of another image: "
     "qemu-img probes the start only, imgscan also reads the end",
     lambda s, q, i: i.get("format") in ("dmg", "vpc") and _qfmt(q) == "raw"),
    ("vmdk-extent",
     "a vmdk whose extents are separate files: qemu-img opens them and fails when they are "
     "missing; imgscan never opens a path named in a header",
     lambda s, q, i: i.get("format") == "vmdk" and "error" in q
     and len(set(re.findall(r"Could not open '([^']*)'", q["error"]))) > 1),
    ("deep-table",
     "qemu-img reads tables past the header (qcow2 snapshots, L1, bitmaps; cloop offsets "
     "past 64 KiB; dmg resource fork; vmdk grain directory): imgscan checks them with --deep "
     "only, and --deep marks this one damaged",
     lambda s, q, i: "error" in q and bool(i.get("deep", {}).get("damaged"))),
    ("deep-outside-volume",
     "with --deep, a qcow2 snapshot table or bitmap directory that does not lie inside the "
     "volume is damaged on purpose (a truncated image); qemu-img reads zeros past the end of "
     "the file and opens it (the deviation is documented in qcow2-deep.c)",
     lambda s, q, i: "error" not in q and i.get("damaged") in (
         "Snapshot table outside the image", "Bitmap directory outside the image")),
    ("dmg-identified-by-name",
     "qemu-img knows a dmg only by its .dmg name and then accepts any koly version and header "
     "size; imgscan identifies dmg by content and requires version 4 and a 512-byte trailer, so "
     "that a volume whose end happens to hold \"koly\" is not taken for one",
     lambda s, q, i: s == "dmg" and i.get("format") == "raw" and ("error" in q or _qfmt(q) == "dmg")),
    ("dmg-forks",
     "qemu-img parses the dmg resource fork (mish chunk tables) and the XML plist the trailer "
     "points to, and refuses malformed ones (Invalid argument); imgscan reads the trailer only "
     "and checks that those ranges lie before it",
     lambda s, q, i: s == "dmg" and i.get("format") == "dmg" and "error" in q
     and q["error"].endswith("Invalid argument")),
]


# Intended differences in one field of an image both open: (name, reason,
# predicate(format, field, qemu value, imgscan value)).
FIELD_INTENDED = [
    ("vmdk-extent-filename",
     "a vmdk extent's filename: qemu-img prints the path it opened; imgscan prints the path "
     "it was given for a sparse or stream-optimized vmdk (as qemu-img), the name the "
     "descriptor holds for other kinds, or none when that line is malformed, and opens "
     "nothing (compared without it)",
     lambda f, k, qv, iv: False),  # decided in compare()
    ("qcow2-deep-details",
     "the LUKS header inside a qcow2 (format-specific encrypt: slots, cipher, uuid) and the "
     "bitmap directory (format-specific bitmaps) are read with --deep only; without it "
     "imgscan shows encrypt.format and no bitmaps list",
     lambda f, k, qv, iv: False),  # decided in compare()
    ("qed-need-check",
     "qed's NEED_CHECK bit: imgscan reports it as dirty, qemu-img 7.2 prints dirty-flag false "
     "(documented in imgscan(8))",
     lambda f, k, qv, iv: f == "qed" and k == "dirty-flag" and qv is False and iv is True),
    ("vpc-block-size-sign",
     "qemu-img prints a vpc block size of 2 GiB or more as a signed 32-bit number "
     "(-2147483648); imgscan prints the size the header holds",
     lambda f, k, qv, iv: f == "vpc" and k == "cluster-size" and isinstance(qv, int) and qv < 0
     and (qv & 0xffffffff) == iv),
]


def classify(seed, q, img):
    for name, _why, pred in INTENDED:
        try:
            if pred(seed, q, img):
                return name
        except (KeyError, TypeError, AttributeError):
            continue
    return None


# ---------------------------------------------------------------------------

def run(cmd, timeout=20):
    try:
        p = subprocess.run(cmd, stdout=subprocess.PIPE, stderr=subprocess.PIPE,
                           timeout=timeout)
    except subprocess.TimeoutExpired:
        return None, "", "timeout"
    return p.returncode, p.stdout.decode("utf-8", "replace"), p.stderr.decode("utf-8", "replace")


def qemu_info(path):
    rc, out, err = run(["qemu-img", "info", "-U", "--output=json", path])
    if rc is None:
        return {"error": "timeout"}
    if rc != 0:
        return {"error": err.strip().splitlines()[-1] if err.strip() else "exit %d" % rc}
    try:
        return json.loads(out)
    except ValueError:
        return {"error": "unparsable JSON"}


def imgscan_info(imgscan, paths, deep=False):
    cmd = [imgscan, "-J", "--check", "--no-direct"] + (["--deep"] if deep else []) + paths
    rc, out, err = run(cmd, timeout=60)
    if rc is None:
        raise RuntimeError("imgscan timed out on %s" % paths)
    try:
        doc = json.loads(out)
    except ValueError:
        raise RuntimeError("imgscan -J printed no JSON (exit %s): %s" % (rc, err[:300]))
    if len(doc.get("images", [])) != len(paths):
        raise RuntimeError("imgscan -J: %d objects for %d paths" % (len(doc["images"]), len(paths)))
    return doc["images"]


def make_seeds(tmp, fixtures):
    seeds = []
    base = os.path.join(tmp, "seeds")
    os.mkdir(base)
    for name, how, *then in SEEDS:
        path = os.path.join(base, name + (".dmg" if name == "dmg" else ".img"))
        if isinstance(how, str):
            head = os.path.join(fixtures, how + ".head")
            if not os.path.exists(head):
                print("# seed %s: fixture %s missing, skipped" % (name, head))
                continue
            shutil.copyfile(head, path)
            size_file = os.path.join(fixtures, how + ".size")
            if os.path.exists(size_file):
                with open(size_file) as f:
                    os.truncate(path, int(f.read().strip()))
            # NAME.tail: the last bytes of the image
            tail_file = os.path.join(fixtures, how + ".tail")
            if os.path.exists(tail_file):
                with open(tail_file, "rb") as f:
                    tail = f.read()
                with open(path, "r+b") as f:
                    f.seek(max(0, os.path.getsize(path) - len(tail)))
                    f.write(tail)
        else:
            args = [a.replace("{d}", base) for a in how]
            rc, _out, err = run(["qemu-img", "create", "-q"] + args, timeout=60)
            # a further qemu-img command on the new image (a bitmap)
            for more in then:
                if rc == 0:
                    rc, _out, err = run(["qemu-img"] + [a.replace("{d}", base) for a in more])
            if rc != 0:
                print("# seed %s: qemu-img failed (%s), skipped" % (name, err.strip()))
                continue
        with open(path, "rb") as f:
            data = f.read()
        if len(data) > 64 * 1024 * 1024:
            print("# seed %s: larger than 64 MiB, skipped" % name)
            continue
        seeds.append((name, data))
    return seeds


def family(seed_name):
    for fam in FIELDS:
        if seed_name == fam or seed_name.startswith(fam + "-"):
            return fam
    return seed_name


INTERESTING = [0, 1, 2, 7, 8, 9, 16, 63, 64, 255, 256, 511, 512, 513, 4096, 65535, 65536,
               0x7fffffff, 0x80000000, 0xffffffff, 0x100000000, 0x7fffffffffffffff,
               0x8000000000000000, 0xffffffff00000000, 0xffffffffffffffff]


def poke(buf, rng, fam):
    fields = FIELDS.get(fam, [])
    if not fields:
        return rand_bytes(buf, rng, head=True)
    off, width, big = rng.choice(fields)
    if off < 0:
        off += len(buf)
    if off < 0 or off + width > len(buf):
        return "poke out of range"
    fmt = (">" if big else "<") + {1: "B", 2: "H", 4: "I", 8: "Q"}[width]
    old = struct.unpack_from(fmt, buf, off)[0]
    mask = (1 << (8 * width)) - 1
    r = rng.random()
    if r < 0.45:
        val = rng.choice(INTERESTING)
    elif r < 0.65:
        val = old + rng.choice([-1, 1, -512, 512])
    elif r < 0.8:
        val = old ^ (1 << rng.randrange(8 * width))
    elif r < 0.9:
        val = 1 << rng.randrange(8 * width)
    else:
        val = rng.getrandbits(8 * width)
    val &= mask
    struct.pack_into(fmt, buf, off, val)
    return "poke %d/%d %#x->%#x" % (off, width, old, val)


def poke_anywhere(buf, rng):
    """an interesting value, 4 or 8 bytes of either order, at an aligned offset of the first 4 KiB"""
    width = rng.choice([4, 8])
    hi = min(4096, len(buf)) - width
    if hi < 0:
        return "no room"
    off = rng.randrange(0, hi + 1, width)
    fmt = rng.choice([">", "<"]) + ("I" if width == 4 else "Q")
    val = rng.choice(INTERESTING) & ((1 << (8 * width)) - 1)
    struct.pack_into(fmt, buf, off, val)
    return "value %d/%d%s %#x" % (off, width, fmt[0], val)


def rand_bytes(buf, rng, head):
    n = rng.choice([1, 1, 1, 2, 4, 8])
    if head:
        lo, hi = 0, min(4096, len(buf))
    else:
        lo, hi = max(0, len(buf) - 512), len(buf)
    if hi - lo < n:
        return "no room"
    off = rng.randrange(lo, hi - n + 1)
    for k in range(n):
        buf[off + k] = rng.getrandbits(8)
    return "bytes %d+%d" % (off, n)


def vpc_fix_checksums(buf):
    """recompute the VHD footer (both copies) and dynamic header checksums"""
    def fix(off, length, csum_at):
        if off < 0 or off + length > len(buf):
            return
        struct.pack_into(">I", buf, off + csum_at, 0)
        s = sum(buf[off:off + length]) & 0xffffffff
        struct.pack_into(">I", buf, off + csum_at, (~s) & 0xffffffff)
    fix(0, 512, 64)
    fix(len(buf) - 512, 512, 64)
    fix(512, 1024, 36)


def _crc32c_table():
    t = []
    for i in range(256):
        c = i
        for _ in range(8):
            c = (c >> 1) ^ 0x82F63B78 if c & 1 else c >> 1
        t.append(c)
    return t


CRC32C = _crc32c_table()


def crc32c(data):
    c = 0xffffffff
    for b in data:
        c = CRC32C[(c ^ b) & 0xff] ^ (c >> 8)
    return c ^ 0xffffffff


def vhdx_fix_checksums(buf):
    """recompute the CRC-32C of header 1 (4 KiB) and region table 1 (64 KiB)"""
    for off, length in ((65536, 4096), (196608, 65536)):
        if off + length <= len(buf):
            struct.pack_into("<I", buf, off + 4, 0)
            struct.pack_into("<I", buf, off + 4, crc32c(bytes(buf[off:off + length])))


def mutate(seed_name, data, seed, index):
    rng = random.Random("%d:%d" % (seed, index))
    buf = bytearray(data)
    fam = family(seed_name)
    what = []
    for _ in range(rng.choice([1, 1, 1, 2, 3])):
        r = rng.random()
        if r < 0.6:
            what.append(poke(buf, rng, fam))
        elif r < 0.7:
            what.append(poke_anywhere(buf, rng))
        elif r < 0.85:
            what.append(rand_bytes(buf, rng, head=True))
        else:
            what.append(rand_bytes(buf, rng, head=False))
    if fam == "vpc" and rng.random() < 0.7:
        vpc_fix_checksums(buf)
        what.append("checksums fixed")
    if fam == "vhdx" and rng.random() < 0.7:
        vhdx_fix_checksums(buf)
        what.append("checksums fixed")
    return bytes(buf), "; ".join(what)


def without_extent_filenames(spec):
    """a vmdk format-specific tree without its extents' file names"""
    if not isinstance(spec, dict) or spec.get("type") != "vmdk":
        return spec
    spec = json.loads(json.dumps(spec))
    for e in spec.get("data", {}).get("extents", []):
        if isinstance(e, dict):
            e.pop("filename", None)
    return spec


def without_deep(spec):
    """a qcow2 format-specific tree without what imgscan reads with --deep only"""
    if not isinstance(spec, dict) or spec.get("type") != "qcow2":
        return spec
    spec = json.loads(json.dumps(spec))
    spec.get("data", {}).pop("encrypt", None)
    spec.get("data", {}).pop("bitmaps", None)
    return spec


def deep_details_only(qv, iv):
    """
    the trees differ only in the LUKS details and the bitmap list imgscan
    reads with --deep (without it: encrypt.format only, no bitmaps)
    """
    try:
        if without_deep(qv) != without_deep(iv) or "bitmaps" in iv["data"]:
            return False
        if "encrypt" in qv["data"]:
            return iv["data"].get("encrypt") == {"format": qv["data"]["encrypt"]["format"]}
        return "encrypt" not in iv["data"]
    except (KeyError, TypeError, AttributeError):
        return False


def compare(q, img, intended=None):
    """
    the differences between qemu-img's view and imgscan's, as (kind, text);
    intended field differences are counted in intended instead
    """
    diffs = []
    if intended is None:
        intended = {}
    if "error" in q:
        if not imgscan_refuses(img):
            diffs.append(("refusal", "qemu-img refuses (%s); imgscan: %s, no damaged"
                          % (q["error"], img.get("format"))))
        return diffs
    if img.get("error"):
        diffs.append(("error", "imgscan could not probe it: %s" % img.get("error")))
        return diffs
    if q.get("format") != img.get("format"):
        diffs.append(("format", "qemu-img %s, imgscan %s" % (q.get("format"), img.get("format"))))
        return diffs
    if q.get("format") == "raw":
        return diffs
    # only "damaged" claims qemu would refuse: a failed safety check on an
    # image qemu opens is imgscan being stricter (an unknown version ...)
    if img.get("damaged"):
        diffs.append(("opened", "qemu-img opens it; imgscan damaged: %s" % img.get("damaged")))
    for k in COMPARED:
        qv, iv = q.get(k), img.get(k)
        if k == "encrypted":
            qv, iv = bool(qv), bool(iv)
        if k == "format-specific" and qv != iv:
            qn, inn = without_extent_filenames(qv), without_extent_filenames(iv)
            if qn == inn:
                intended["vmdk-extent-filename"] = intended.get("vmdk-extent-filename", 0) + 1
                continue
            if deep_details_only(qv, iv):
                intended["qcow2-deep-details"] = intended.get("qcow2-deep-details", 0) + 1
                continue
        if qv == iv:
            continue
        why = next((n for n, _w, pred in FIELD_INTENDED if pred(q.get("format"), k, qv, iv)), None)
        if why:
            intended[why] = intended.get(why, 0) + 1
            continue
        diffs.append(("field", "%s: qemu-img %s, imgscan %s" % (k, json.dumps(qv), json.dumps(iv))))
    return diffs


def main():
    ap = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    top = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
    ap.add_argument("--seed", type=int, default=1)
    ap.add_argument("--time", type=float, default=75.0, help="seconds to run (default 75)")
    ap.add_argument("--max", type=int, default=0, help="at most this many mutants (0: no limit)")
    ap.add_argument("--only", type=int, default=None, help="run mutant N of every seed only")
    ap.add_argument("--imgscan", default=os.environ.get("IMGSCAN", os.path.join(
        top, "build", "imgscan-uninstalled")))
    ap.add_argument("--fixtures", default=os.environ.get("FIXTURES", os.path.join(top, "fixtures")))
    ap.add_argument("--keep", help="copy every differing mutant into this directory")
    ap.add_argument("--deep", action="store_true",
                    help="run imgscan with --deep throughout (its verdicts and tables compared)")
    ap.add_argument("-v", "--verbose", action="store_true")
    a = ap.parse_args()

    if not shutil.which("qemu-img"):
        print("SKIP: qemu-img not installed (Debian: qemu-utils)")
        return 77
    if not os.access(a.imgscan, os.X_OK):
        print("difffuzz: no imgscan at %s (build it, or give --imgscan)" % a.imgscan)
        return 1
    if a.keep:
        os.makedirs(a.keep, exist_ok=True)

    tmp = tempfile.mkdtemp(prefix="imgscan-difffuzz.")
    try:
        return fuzz(a, tmp)
    finally:
        shutil.rmtree(tmp, ignore_errors=True)


def self_check():
    """
    the comparison must see the differences it exists for (a checker that
    cannot fail proves nothing): synthetic qemu-img/imgscan pairs
    """
    qcow2 = {"format": "qcow2", "virtual-size": 1048576, "cluster-size": 65536,
             "dirty-flag": False}
    cases = [
        ({"error": "Unsupported qcow2 feature(s)"}, dict(qcow2), ["refusal"]),
        ({"error": "x"}, dict(qcow2, damaged="x"), []),
        (dict(qcow2), dict(qcow2, damaged="x"), ["opened"]),
        (dict(qcow2), dict(qcow2, format="qed"), ["format"]),
        (dict(qcow2), dict(qcow2, **{"virtual-size": 512}), ["field"]),
        (dict(qcow2, **{"backing-filename-format": "raw"}), dict(qcow2), ["field"]),
        (dict(qcow2), dict(qcow2, **{"dirty-flag": True}), ["field"]),
        (dict(qcow2), dict(qcow2), []),
    ]
    for q, img, want in cases:
        got = [kind for kind, _text in compare(q, img)]
        if got != want:
            raise SystemExit("difffuzz: self-check failed: %s / %s gave %s, not %s"
                             % (q, img, got, want))


def fuzz(a, tmp):
    self_check()
    seeds = make_seeds(tmp, a.fixtures)
    if not seeds:
        print("difffuzz: no seed image could be made")
        return 1
    print("# difffuzz: seed %d, %d seed images (%s), %.0f s"
          % (a.seed, len(seeds), " ".join(n for n, _ in seeds), a.time))
    # intended differences, once, with their reasons
    for name, why, _pred in INTENDED + FIELD_INTENDED:
        print("# intended: %s: %s" % (name, why))

    deadline = time.monotonic() + a.time
    work = os.path.join(tmp, "m")
    os.mkdir(work)
    counts = {"mutants": 0, "refused": 0, "unexplained": 0}
    intended = {}
    index = a.only if a.only is not None else 0
    batch = 16
    while True:
        if a.only is None and time.monotonic() >= deadline:
            break
        if a.max and counts["mutants"] >= a.max:
            break
        # one batch: every seed's mutant `index`, then the next index
        items = []
        while len(items) < batch:
            for name, data in seeds:
                mdata, what = mutate(name, data, a.seed, index)
                # qemu's dmg probe also wants the name to end in .dmg
                path = os.path.join(work, "%s.%d.%s" % (name, index,
                                                        "dmg" if name == "dmg" else "img"))
                with open(path, "wb") as f:
                    f.write(mdata)
                items.append((name, index, path, what))
            if a.only is not None:
                break
            index += 1
        try:
            imgs = imgscan_info(a.imgscan, [p for _n, _i, p, _w in items], deep=a.deep)
        except RuntimeError as e:
            # a crash or a hang: name every mutant of the batch, keep them
            print("FAIL imgscan: %s" % e)
            for name, idx, path, what in items:
                print("FAIL in this batch: %s #%d (%s)" % (name, idx, what))
                if a.keep:
                    shutil.copyfile(path, os.path.join(a.keep, os.path.basename(path)))
            return 1
        deep_asked = []
        results = []
        for (name, idx, path, what), img in zip(items, imgs):
            q = qemu_info(path)
            counts["mutants"] += 1
            counts["refused"] += "error" in q
            diffs = compare(q, img, intended)
            if diffs and "error" in q and not a.deep:
                deep_asked.append(len(results))
            results.append([name, idx, path, what, q, img, diffs])
        if deep_asked:
            deep = imgscan_info(a.imgscan, [results[k][2] for k in deep_asked], deep=True)
            for k, d in zip(deep_asked, deep):
                results[k][5] = dict(results[k][5], deep=d)
        for name, idx, path, what, q, img, diffs in results:
            if diffs:
                why = classify(name, q, img)
                if why:
                    intended[why] = intended.get(why, 0) + 1
                    if a.verbose:
                        print("# intended %s: %s #%d (%s): %s"
                              % (why, name, idx, what, diffs[0][1]))
                else:
                    counts["unexplained"] += 1
                    for kind, text in diffs:
                        print("DIFF %s: %s #%d (%s): %s" % (kind, name, idx, what, text))
                    if a.keep:
                        shutil.copyfile(path, os.path.join(a.keep, os.path.basename(path)))
            os.unlink(path)
        if a.only is not None:
            break

    print("# difffuzz: %d mutants (qemu-img refused %d), %d unexplained differences, "
          "intended: %s" % (counts["mutants"], counts["refused"], counts["unexplained"],
                           ", ".join("%s %d" % kv for kv in sorted(intended.items())) or "none"))
    if counts["unexplained"]:
        print("# reproduce one: python3 tools/difffuzz.py --seed %d --only N -v" % a.seed)
    return 1 if counts["unexplained"] else 0


if __name__ == "__main__":
    sys.exit(main())
