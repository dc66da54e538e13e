# SPDX-License-Identifier: LGPL-2.1-or-later
"""imgscan: recognise virtual disk images from their header bytes.

A ctypes binding of libimgscan.so.1 (no compiled extension).  Each result
is a dict shaped exactly like one object of ``imgscan --json``'s "images"
array: the same keys, the same values::

    >>> import imgscan
    >>> imgscan.probe("disk.qcow2")["format"]
    'qcow2'
    >>> for d in imgscan.scan(["a.img", "b.vmdk"], jobs=4):
    ...     print(d["path"], d["format"], d.get("backing-filename"))

Header strings (a backing file name, ...) are untrusted bytes from the
image: invalid UTF-8 arrives as U+FFFD, as ``imgscan --json`` writes it.
Errors are raised as OSError(errno, explanation, path).

The library is found through $IMGSCAN_LIBRARY (a path), then the dynamic
loader's search path, then the lib directory of the prefix this module is
installed under.
"""

import ctypes
import errno as _errno
import json
import os
import queue
import threading

__all__ = ["probe", "scan", "library_version", "PROBE_DEEP", "PROBE_NO_DIRECT",
           "PROBE_NO_CONTENT", "PROBE_NO_CONTENT_SIGNATURES", "PROBE_STATS"]

PROBE_DEEP = 1 << 0
PROBE_NO_DIRECT = 1 << 1
PROBE_NO_CONTENT = 1 << 2
PROBE_NO_CONTENT_SIGNATURES = 1 << 3
PROBE_STATS = 1 << 4

_SONAME = "libimgscan.so.1"


def _candidates():
    env = os.environ.get("IMGSCAN_LIBRARY")
    if env:
        yield env
        return
    yield _SONAME
    # <prefix>/lib/pythonX.Y/site-packages/imgscan/__init__.py -> <prefix>/lib
    here = os.path.dirname(os.path.abspath(__file__))
    libdir = os.path.dirname(os.path.dirname(os.path.dirname(here)))
    yield os.path.join(libdir, _SONAME)
    yield os.path.join(os.path.dirname(libdir), "lib64", _SONAME)


def _load():
    errors = []
    for name in _candidates():
        try:
            return ctypes.CDLL(name, use_errno=False)
        except OSError as e:
            errors.append(str(e))
    raise ImportError("imgscan: cannot load %s (%s); set IMGSCAN_LIBRARY to its path"
                      % (_SONAME, "; ".join(errors)))


_lib = _load()

_P = ctypes.c_void_p


def _fn(name, restype, *argtypes):
    f = getattr(_lib, name)
    f.restype = restype
    f.argtypes = list(argtypes)
    return f


_version = _fn("imgscan_version", ctypes.c_char_p)
_new = _fn("imgscan_probe_new", _P)
_free = _fn("imgscan_probe_free", None, _P)
_set_flags = _fn("imgscan_probe_set_flags", ctypes.c_int, _P, ctypes.c_uint)
_set_path = _fn("imgscan_probe_set_path", ctypes.c_int, _P, ctypes.c_char_p, ctypes.c_uint64)
_run = _fn("imgscan_probe_run", ctypes.c_int, _P)
_strerror = _fn("imgscan_probe_strerror", ctypes.c_char_p, _P)
_get_json = _fn("imgscan_probe_get_json", ctypes.c_int, _P, ctypes.POINTER(ctypes.c_char_p))


def library_version():
    """The version of the libimgscan loaded ("0.2.0")."""
    return _version().decode()


class _Probe:
    """One probe handle: used by one thread at a time."""

    def __init__(self):
        self._h = _new()
        if not self._h:
            raise MemoryError("imgscan: out of memory")

    def close(self):
        if self._h:
            _free(self._h)
            self._h = None

    def __del__(self):
        self.close()

    def _error(self, rc, path):
        why = _strerror(self._h)
        return OSError(-rc, why.decode(errors="replace") if why else os.strerror(-rc), path)

    def probe(self, path, offset=0, deep=False, flags=0):
        if not isinstance(offset, int) or not 0 <= offset < 1 << 64:
            raise ValueError("imgscan: offset must be an int from 0 to 2**64-1")
        if deep:
            flags |= PROBE_DEEP
        bpath = os.fsencode(path)
        if not bpath or b"\0" in bpath:
            raise ValueError("imgscan: a path without NUL bytes is needed")
        rc = _set_flags(self._h, flags)
        if rc >= 0:
            rc = _set_path(self._h, bpath, offset)
        if rc < 0:
            raise OSError(-rc, os.strerror(-rc), path)
        rc = _run(self._h)
        if rc < 0:
            raise self._error(rc, path)
        text = ctypes.c_char_p()
        rc = _get_json(self._h, ctypes.byref(text))
        if rc < 0:
            raise self._error(rc, path)
        # json-c wrote valid UTF-8 (untrusted bytes were made so first)
        return json.loads(text.value.decode("utf-8"))


def probe(path, offset=0, deep=False, flags=0):
    """Probe one file or block device: a dict like one object of
    ``imgscan --json [--deep] [--offset OFFSET] PATH``.

    flags: further PROBE_* bits (PROBE_NO_DIRECT, PROBE_NO_CONTENT, PROBE_STATS
    for the "scan" I/O counters of --stats, ...).
    Raises OSError(errno, explanation, path) when the volume cannot be
    opened or read (an image that is damaged is not an error: its dict says
    "damaged").
    """
    p = _Probe()
    try:
        return p.probe(path, offset, deep, flags)
    finally:
        p.close()


_BATCH_FN = ctypes.CFUNCTYPE(ctypes.c_int, _P, ctypes.c_int, ctypes.c_size_t, _P)
_batch_new = _fn("imgscan_batch_new", _P)
_batch_free = _fn("imgscan_batch_free", None, _P)
_batch_set_flags = _fn("imgscan_batch_set_flags", ctypes.c_int, _P, ctypes.c_uint)
_batch_set_jobs = _fn("imgscan_batch_set_jobs", ctypes.c_int, _P, ctypes.c_uint)
_batch_add_path = _fn("imgscan_batch_add_path", ctypes.c_ssize_t, _P, ctypes.c_char_p,
                      ctypes.c_uint64)
_batch_run = _fn("imgscan_batch_run", ctypes.c_int, _P, _BATCH_FN, _P)

_END = object()


def scan(paths, jobs=4, offset=0, deep=False, flags=0):
    """Probe many paths with the library's batch scanner (`jobs` worker
    threads, the first blocks of 16 volumes read in one io_uring batch);
    yield one dict per path, in the order given, each as probe() would
    return it.  Memory stays bounded however many paths there are: the
    scanner waits while 2*jobs results are not consumed.

    The first path that cannot be probed raises OSError(errno, explanation,
    path) when its turn comes; the dicts before it have been yielded.
    """
    if not isinstance(jobs, int) or not 1 <= jobs <= 32:
        raise ValueError("imgscan: jobs must be an int from 1 to 32")
    if not isinstance(offset, int) or not 0 <= offset < 1 << 64:
        raise ValueError("imgscan: offset must be an int from 0 to 2**64-1")
    if deep:
        flags |= PROBE_DEEP
    paths = list(paths)
    encoded = []
    for p in paths:
        b = os.fsencode(p)
        if not b or b"\0" in b:
            raise ValueError("imgscan: a path without NUL bytes is needed: %r" % (p,))
        encoded.append(b)
    if not paths:
        return
    batch = _batch_new()
    if not batch:
        raise MemoryError("imgscan: out of memory")
    results = queue.Queue(maxsize=2 * jobs)
    cancelled = threading.Event()

    def put(item):
        while not cancelled.is_set():
            try:
                results.put(item, timeout=0.1)
                return True
            except queue.Full:
                pass
        return False

    def deliver(pr, rc, idx, userdata):
        if rc >= 0:
            text = ctypes.c_char_p()
            r = _get_json(pr, ctypes.byref(text))
            item = (idx, 0, text.value) if r >= 0 else (idx, r, _strerror(pr))
        else:
            item = (idx, rc, _strerror(pr))
        return 0 if put(item) else 1

    callback = _BATCH_FN(deliver)

    def runner():
        rc = -_errno.EINVAL
        try:
            rc = _batch_run(batch, callback, None)
        finally:
            put((_END, rc, None))

    try:
        rc = _batch_set_jobs(batch, jobs)
        if rc >= 0:
            rc = _batch_set_flags(batch, flags)
        if rc < 0:
            raise OSError(-rc, os.strerror(-rc))
        for p, b in zip(paths, encoded):
            rc = _batch_add_path(batch, b, offset)
            if rc < 0:
                raise OSError(-rc, os.strerror(-rc), p)
        thread = threading.Thread(target=runner, name="imgscan-batch", daemon=True)
        thread.start()
        try:
            for i, path in enumerate(paths):
                idx, rc, data = results.get()
                if idx is _END:
                    raise OSError(-rc if rc < 0 else _errno.EIO,
                                  "imgscan: the batch stopped: %s" % os.strerror(-rc if rc < 0 else _errno.EIO))
                if rc < 0:
                    why = data.decode(errors="replace") if data else os.strerror(-rc)
                    raise OSError(-rc, why, path)
                yield json.loads(data.decode("utf-8"))
        finally:
            cancelled.set()
            thread.join()
    finally:
        _batch_free(batch)
