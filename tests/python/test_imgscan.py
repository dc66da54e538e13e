# SPDX-License-Identifier: LGPL-2.1-or-later
"""The Python module against `imgscan -J`: for every format qemu-img can
create (and variants: backing files, hostile names, encryption, bitmaps,
snapshots, subformats), imgscan.probe() must return exactly the object the
command prints, with --deep and --offset too; imgscan.scan() the same
objects in input order; errors are OSError with errno and path.

Run by tests/python/run.sh (make check) with $IMGSCAN and $IMGSCAN_LIBRARY.
"""

import errno
import json
import os
import shutil
import subprocess
import time

import pytest

import imgscan

IMGSCAN = os.environ.get("IMGSCAN") or shutil.which("imgscan")
SECRET = "secret,id=sec0,data=imgscan-test"
HOSTILE = b'a b;$x`y`"\n\xff'
# run.sh preloads a sanitizer build's runtime for python alone: not for the tools
SUBENV = {k: v for k, v in os.environ.items() if k != "LD_PRELOAD"}

# name, format, size, extra qemu-img create arguments
IMAGES = [
    ("plain.qcow2", "qcow2", "64M", []),
    ("v2.qcow2", "qcow2", "64M", ["-o", "compat=0.10"]),
    ("lazy.qcow2", "qcow2", "64M", ["-o", "lazy_refcounts=on,cluster_size=4096"]),
    ("ext-l2.qcow2", "qcow2", "64M", ["-o", "extended_l2=on"]),
    ("zstd.qcow2", "qcow2", "64M", ["-o", "compression_type=zstd"]),
    ("backing.qcow2", "qcow2", "", ["-b", "base.raw", "-F", "raw"]),
    ("hostile.qcow2", "qcow2", "8M", ["-u", "-b", HOSTILE, "-F", "raw"]),
    ("datafile.qcow2", "qcow2", "8M", ["-o", "data_file=data.raw"]),
    ("luks.qcow2", "qcow2", "8M", ["--object", SECRET, "-o",
                                    "encrypt.format=luks,encrypt.key-secret=sec0,"
                                    "encrypt.iter-time=10"]),
    ("plain.qcow", "qcow", "8M", []),
    ("backing.qcow", "qcow", "8M", ["-b", "base.raw", "-F", "raw"]),
    ("plain.qed", "qed", "8M", []),
    ("backing.qed", "qed", "8M", ["-b", "base.qcow2", "-F", "qcow2"]),
    ("sparse.vmdk", "vmdk", "8M", []),
    ("stream.vmdk", "vmdk", "8M", ["-o", "subformat=streamOptimized"]),
    ("flat.vmdk", "vmdk", "8M", ["-o", "subformat=monolithicFlat"]),
    ("split.vmdk", "vmdk", "8M", ["-o", "subformat=twoGbMaxExtentSparse"]),
    ("dynamic.vpc", "vpc", "8M", []),
    ("fixed.vpc", "vpc", "8M", ["-o", "subformat=fixed"]),
    ("dynamic.vhdx", "vhdx", "8M", []),
    ("fixed.vhdx", "vhdx", "8M", ["-o", "subformat=fixed"]),
    ("plain.vdi", "vdi", "8M", []),
    ("static.vdi", "vdi", "8M", ["-o", "static=on"]),
    ("plain.parallels", "parallels", "8M", []),
    ("plain.luks", "luks", "8M", ["--object", SECRET, "-o", "key-secret=sec0,iter-time=10"]),
    ("plain.raw", "raw", "8M", []),
]


# qemu-img cannot always time its LUKS PBKDF on a loaded virtual CPU: an
# artefact of the machine, not of imgscan (tests/e2e/lib.sh says the same)
PBKDF_TIMING = b"Unable to get accurate CPU usage"


def qemu_img(*args, cwd):
    """Run qemu-img, retried as the e2e tests do; False when a LUKS image
    cannot be made for PBKDF timing, an error otherwise."""
    for attempt in range(5):
        r = subprocess.run(["qemu-img", *args], cwd=cwd, env=SUBENV,
                           stdout=subprocess.DEVNULL, stderr=subprocess.PIPE)
        if r.returncode == 0:
            return True
        time.sleep(1)
    if PBKDF_TIMING in r.stderr:
        return False
    raise AssertionError("qemu-img %s: %s" % (" ".join(map(str, args)), r.stderr.decode()))


def command_json(path, *opts):
    """The first object of `imgscan -J [opts] path`."""
    out = subprocess.run([IMGSCAN, "-J", *opts, path], stdout=subprocess.PIPE, env=SUBENV,
                         stderr=subprocess.PIPE, check=False)
    doc = json.loads(out.stdout)
    assert len(doc["images"]) == 1, out.stderr
    return doc["images"][0]


def need(images, name):
    if name not in images:
        pytest.skip("%s: qemu-img cannot time its LUKS PBKDF on this machine" % name)
    return images[name]


@pytest.fixture(scope="session")
def images(tmp_path_factory):
    if not IMGSCAN or not os.access(IMGSCAN, os.X_OK):
        pytest.fail("$IMGSCAN names no imgscan binary")
    d = str(tmp_path_factory.mktemp("img"))
    qemu_img("create", "-q", "-f", "raw", "base.raw", "4M", cwd=d)
    qemu_img("create", "-q", "-f", "qcow2", "base.qcow2", "4M", cwd=d)
    paths = {}
    for name, fmt, size, args in IMAGES:
        argv = ["create", "-q", "-f", fmt, *args, name]
        if size:
            argv.append(size)
        if qemu_img(*argv, cwd=d):
            paths[name] = os.path.join(d, name)
    # variants made after creation
    qemu_img("bitmap", "--add", "plain.qcow2", "b0", cwd=d)
    qemu_img("snapshot", "-c", "s1", "lazy.qcow2", cwd=d)
    # a raw volume holding a filesystem: "content" named through libblkid
    ext = os.path.join(d, "ext4.raw")
    with open(ext, "wb") as f:
        f.truncate(8 << 20)
    if shutil.which("mkfs.ext4"):
        subprocess.run(["mkfs.ext4", "-q", "-F", "-L", "lbl", ext], check=True, env=SUBENV)
    paths["ext4.raw"] = ext
    # a qcow2 image 1 MiB into a file (--offset)
    inner = os.path.join(d, "plain.qcow2")
    off = os.path.join(d, "offset.img")
    with open(off, "wb") as f, open(inner, "rb") as src:
        f.write(b"\0" * (1 << 20))
        shutil.copyfileobj(src, f)
    paths["offset.img"] = off
    return paths


@pytest.mark.parametrize("name", [n for n, _, _, _ in IMAGES] + ["ext4.raw"])
def test_probe_equals_command(images, name):
    path = need(images, name)
    got = imgscan.probe(path)
    assert got == command_json(path)
    assert got["path"] == path


def test_formats_covered(images):
    """every format qemu-img creates is recognised as itself (not raw)"""
    for name, fmt, _, _ in IMAGES:
        if name in images:
            assert imgscan.probe(images[name])["format"] == fmt, name


def test_facts(images):
    d = imgscan.probe(images["hostile.qcow2"])
    # untrusted bytes: the \xff is U+FFFD, the newline kept, as --json writes them
    assert d["backing-filename"] == 'a b;$x`y`"\n\ufffd'
    assert imgscan.probe(images["plain.qcow2"])["bitmap-count"] == 1
    assert imgscan.probe(need(images, "luks.qcow2"))["encrypted"] is True
    if shutil.which("mkfs.ext4"):
        c = imgscan.probe(images["ext4.raw"])["content"]
        assert c["type"] == "ext4" and c["label"] == "lbl"


@pytest.mark.parametrize("name", ["lazy.qcow2", "plain.qcow2", "backing.qcow2", "sparse.vmdk"])
def test_deep(images, name):
    path = images[name]
    got = imgscan.probe(path, deep=True)
    assert got == command_json(path, "--deep")
    if name == "lazy.qcow2":
        assert [s["name"] for s in got["snapshots"]] == ["s1"]


def test_offset(images):
    path = images["offset.img"]
    got = imgscan.probe(path, offset=1 << 20)
    assert got == command_json(path, "--offset", str(1 << 20))
    assert got["format"] == "qcow2" and got["offset"] == 1 << 20
    assert imgscan.probe(path)["format"] == "raw"


def test_no_content_flag(images):
    d = imgscan.probe(images["ext4.raw"], flags=imgscan.PROBE_NO_CONTENT)
    assert "content" not in d


def test_errors(images, tmp_path):
    missing = str(tmp_path / "missing.img")
    with pytest.raises(OSError) as e:
        imgscan.probe(missing)
    assert e.value.errno == errno.ENOENT
    assert e.value.filename == missing
    assert "cannot open" in e.value.strerror
    with pytest.raises(OSError) as e:
        imgscan.probe(str(tmp_path))
    assert e.value.errno == errno.ENOTBLK
    with pytest.raises(OSError) as e:
        imgscan.probe(images["plain.raw"], offset=1 << 40)
    assert e.value.errno == errno.EINVAL
    with pytest.raises(ValueError):
        imgscan.probe(images["plain.raw"], offset=-1)
    with pytest.raises(ValueError):
        imgscan.probe(images["plain.raw"], offset=1 << 64)
    with pytest.raises(ValueError):
        list(imgscan.scan([images["plain.raw"]], jobs=0))


def test_scan_in_order(images):
    names = sorted(images) * 3
    paths = [images[n] for n in names]
    expect = {n: command_json(images[n]) for n in set(names) if n != "offset.img"}
    got = list(imgscan.scan(paths, jobs=3))
    assert [d["path"] for d in got] == paths
    for n, d in zip(names, got):
        if n != "offset.img":
            assert d == expect[n], n


def test_scan_error_in_order(images, tmp_path):
    missing = str(tmp_path / "missing.img")
    paths = [images["plain.qcow2"], images["plain.vdi"], missing, images["plain.qed"]]
    it = imgscan.scan(paths, jobs=2)
    assert next(it)["format"] == "qcow2"
    assert next(it)["format"] == "vdi"
    with pytest.raises(OSError) as e:
        next(it)
    assert e.value.errno == errno.ENOENT and e.value.filename == missing


def test_version():
    assert imgscan.library_version().count(".") == 2


def _fixture_names():
    d = os.environ.get("FIXTURES")
    if not d or not os.path.isdir(d):
        return []
    names = []
    for sub in ("", "bad"):
        base = os.path.join(d, sub)
        for f in sorted(os.listdir(base)):
            if f.endswith(".head"):
                names.append(os.path.join(sub, f[:-5]))
    return names


FIXTURE_NAMES = _fixture_names()


@pytest.fixture(scope="session")
def fixture_images(tmp_path_factory):
    """every fixtures/ and fixtures/bad/ slice rebuilt as a sparse file: the
    head at 0, the tail (when there is one) at the end, NAME.size long"""
    d = os.environ["FIXTURES"]
    out = tmp_path_factory.mktemp("fx")
    paths = {}
    for name in FIXTURE_NAMES:
        with open(os.path.join(d, name + ".head"), "rb") as f:
            head = f.read()
        size = len(head)
        if os.path.exists(os.path.join(d, name + ".size")):
            with open(os.path.join(d, name + ".size")) as f:
                size = int(f.read().split()[0])
        tail = b""
        if os.path.exists(os.path.join(d, name + ".tail")):
            with open(os.path.join(d, name + ".tail"), "rb") as f:
                tail = f.read()
        p = str(out / (name.replace("/", "-") + ".img"))
        with open(p, "wb") as f:
            f.write(head)
            f.truncate(max(size, len(head)))
            if tail:
                f.seek(max(size, len(head)) - len(tail))
                f.write(tail)
        paths[name] = p
    return paths


def test_fixtures_present():
    assert len(FIXTURE_NAMES) > 40, "$FIXTURES names no fixture directory"


@pytest.mark.parametrize("name", FIXTURE_NAMES)
def test_fixture_equals_command(fixture_images, name):
    """hostile and damaged headers included: the same dict as imgscan -J"""
    path = fixture_images[name]
    assert imgscan.probe(path) == command_json(path)
    assert imgscan.probe(path, deep=True) == command_json(path, "--deep")


def test_scan_abandoned(images):
    """leaving the iterator early stops the batch: no thread is left behind"""
    import threading
    before = threading.active_count()
    paths = [images["plain.qcow2"]] * 200
    it = imgscan.scan(paths, jobs=4)
    assert next(it)["format"] == "qcow2"
    assert next(it)["format"] == "qcow2"
    it.close()
    assert threading.active_count() == before
    assert list(imgscan.scan([], jobs=2)) == []
    with pytest.raises(ValueError):
        list(imgscan.scan([images["plain.raw"]], jobs=33))


@pytest.mark.parametrize("name", ["plain.qcow2", "dynamic.vhdx", "fixed.vpc", "stream.vmdk",
                                  "ext4.raw"])
def test_stats_reads_equal_command(images, name):
    """the library reads a volume exactly as the command does: same "scan"
    counters (reads, bytes, O_DIRECT, alignment) as imgscan -J --stats"""
    path = images[name]
    got = imgscan.probe(path, flags=imgscan.PROBE_STATS)
    want = command_json(path, "--stats")
    assert got["scan"] == want["scan"]
    assert got == want
    got = imgscan.probe(path, deep=True, flags=imgscan.PROBE_STATS)
    assert got == command_json(path, "--stats", "--deep")


# ---- the typed trees of the C API against the JSON object -------------------------------

def _c_api():
    import ctypes
    lib = ctypes.CDLL(os.environ["IMGSCAN_LIBRARY"])
    P = ctypes.c_void_p
    for name, res, args in [
        ("imgscan_probe_new", P, []),
        ("imgscan_probe_free", None, [P]),
        ("imgscan_probe_set_path", ctypes.c_int, [P, ctypes.c_char_p, ctypes.c_uint64]),
        ("imgscan_probe_set_flags", ctypes.c_int, [P, ctypes.c_uint]),
        ("imgscan_probe_run", ctypes.c_int, [P]),
        ("imgscan_probe_get_specific_type", ctypes.c_char_p, [P]),
        ("imgscan_probe_get_tree_count", ctypes.c_uint, [P, ctypes.c_int]),
        ("imgscan_probe_get_tree_entry", ctypes.c_int,
         [P, ctypes.c_int, ctypes.c_uint, ctypes.POINTER(ctypes.c_int),
          ctypes.POINTER(ctypes.c_char_p), ctypes.POINTER(ctypes.c_void_p),
          ctypes.POINTER(ctypes.c_size_t), ctypes.POINTER(ctypes.c_uint64),
          ctypes.POINTER(ctypes.c_int64)]),
    ]:
        f = getattr(lib, name)
        f.restype = res
        f.argtypes = args
    return lib


def _tree(lib, pr, which):
    """rebuild a tree as the JSON writer does: containers, keys, typed values"""
    import ctypes
    n = lib.imgscan_probe_get_tree_count(pr, which)
    entries = []
    for i in range(n):
        t, k, s = ctypes.c_int(), ctypes.c_char_p(), ctypes.c_void_p()
        ln, u, v = ctypes.c_size_t(), ctypes.c_uint64(), ctypes.c_int64()
        assert lib.imgscan_probe_get_tree_entry(pr, which, i, t, k, s, ln, u, v) == 0
        if t.value == 1:
            val = ctypes.string_at(s.value, ln.value).decode() if ln.value else ""
        else:
            val = {2: u.value, 3: v.value, 4: bool(u.value)}.get(t.value)
        entries.append((t.value, k.value.decode() if k.value else None, val))
    assert lib.imgscan_probe_get_tree_entry(pr, which, n, None, None, None, None, None, None) \
        == -errno.ERANGE

    pos = 0

    def container(is_array):
        nonlocal pos
        c = [] if is_array else {}
        while pos < len(entries):
            t, k, val = entries[pos]
            pos += 1
            if t == 7:
                return c
            if t in (5, 6):
                val = container(t == 6)
            if is_array:
                c.append(val)
            else:
                c[k] = val
        return c

    top = {}
    while pos < len(entries):
        top.update(container(False))
    return top


@pytest.mark.parametrize("name", ["lazy.qcow2", "plain.qcow2", "luks.qcow2", "sparse.vmdk",
                                  "split.vmdk", "plain.luks", "dynamic.vhdx"])
def test_trees_equal_json(images, name):
    path = need(images, name)
    lib = _c_api()
    pr = lib.imgscan_probe_new()
    try:
        assert lib.imgscan_probe_set_flags(pr, imgscan.PROBE_DEEP) == 0
        assert lib.imgscan_probe_set_path(pr, os.fsencode(path), 0) == 0
        assert lib.imgscan_probe_run(pr) == 1
        d = command_json(path, "--deep")
        spec_type = lib.imgscan_probe_get_specific_type(pr)
        if "format-specific" in d:
            assert spec_type.decode() == d["format-specific"]["type"]
            assert _tree(lib, pr, 0) == d["format-specific"]["data"]
        else:
            assert spec_type is None
        deep = _tree(lib, pr, 1)
        for k, v in deep.items():
            assert d[k] == v, k
        if name == "lazy.qcow2":
            assert [s["name"] for s in deep["snapshots"]] == ["s1"]
    finally:
        lib.imgscan_probe_free(pr)
