#!/usr/bin/env python3
"""Writes the hostile-layer corpus: one <case>.tar per case into the directory given.

Each tar is what a malicious or sloppy image could carry. The tars are generated rather than
checked in so that the corpus stays reviewable: every case below says what it tries. They are
written with Python's tarfile, not bonsai's TarWriter, so that they contain exactly the names
and link targets written here (bonsai's writer normalises paths). The expected outcome of each
case is asserted in src/archive/layer_apply_hostile_test.cc, which fails if a case here has no
expectation there.

Bombs are written too: a gzip-compressed layer whose ratio is far past any real layer's, an
oversized PAX header and an oversized GNU long name.

Usage: make_corpus.py OUT_DIR
"""
import gzip
import io
import os
import sys
import tarfile

MTIME = 1_600_000_000


def _info(name, type_, mode):
    ti = tarfile.TarInfo(name)
    ti.type = type_
    ti.mode = mode
    ti.mtime = MTIME
    ti.uid = ti.gid = 0
    ti.uname = ti.gname = ""
    return ti


def f(name, data=b"", mode=0o644, uid=0, gid=0, xattrs=None):
    ti = _info(name, tarfile.REGTYPE, mode)
    ti.uid, ti.gid = uid, gid
    if xattrs:
        ti.pax_headers = {"SCHILY.xattr." + k: v for k, v in xattrs.items()}
    data = data if isinstance(data, bytes) else data.encode()
    ti.size = len(data)
    return ti, data


def d(name, mode=0o755):
    return _info(name, tarfile.DIRTYPE, mode), None


def sym(name, target):
    ti = _info(name, tarfile.SYMTYPE, 0o777)
    ti.linkname = target
    return ti, None


def hard(name, target):
    ti = _info(name, tarfile.LNKTYPE, 0o644)
    ti.linkname = target
    return ti, None


def with_pax(entry, records):
    ti, data = entry
    ti.pax_headers = dict(records)
    return ti, data


def dev(name, type_, major, minor, mode=0o666):
    ti = _info(name, type_, mode)
    ti.devmajor, ti.devminor = major, minor
    return ti, None


DEEP = "/".join(["d"] * 1000)
LONG_OK = "long/" + "/".join([c * 250 for c in "abcdefghijklmno"])  # ~3.8 KB, parts < 256
LONG_PART = "x" * 300  # one component over NAME_MAX

CASES = {
    # Symlink to "/" then write through it: must land inside the root.
    "symlink_root_then_write": [sym("a", "/"), f("a/escape", "root")],
    # Symlink climbing with ".." then write through it.
    "symlink_dotdot_then_write": [sym("a", "../../../../.."), f("a/escape", "dotdot")],
    # Symlink to the root's sibling on the host: inside the root that path does not exist.
    "symlink_sibling_then_write": [sym("a", "../outside"), f("a/pwned", "sibling")],
    # A chain of symlinks, the last one climbing, then a directory and a file through it.
    "symlink_chain_then_write": [sym("a", "b"), sym("b", "../../.."), f("a/c/escape", "chain")],
    # A symlinked directory, then a hard link through it to a file of the layer.
    "symlink_dir_then_hardlink": [
        d("etc"), f("etc/passwd", "fake"), sym("d", "../../../.."),
        hard("stolen", "d/etc/passwd")],
    # A hard link through a symlink to the host sibling directory.
    "hardlink_through_sibling_symlink": [sym("h", "../outside"), hard("x", "h/secret")],
    # A hard link whose target climbs out of the root.
    "hardlink_dotdot_target": [hard("x", "../outside/secret")],
    # Absolute hard-link target: real-world layers do this; it means the layer root.
    "hardlink_absolute_target": [d("etc"), f("etc/passwd", "root:x:0:0"),
                                 hard("etc/passwd-", "/etc/passwd")],
    # Entry names with "..".
    "dotdot_prefix": [f("../escape", "up")],
    "dotdot_middle_escape": [f("a/../../escape", "up")],
    "dotdot_inside": [f("a/../b", "inside")],
    "dotdot_to_root": [d("a/..")],
    # A long (PAX) path that climbs out.
    "pax_long_dotdot": [f("../" * 40 + "x" * 120, "pax")],
    # Absolute member names (seen in the wild): relative to the layer root.
    "absolute_member_name": [f("/abs/file", "abs")],
    # Opaque markers at the root, one level and two levels down, and through a symlink.
    "opaque_root": [f(".wh..wh..opq"), f("new", "n")],
    "opaque_levels": [f("lower/.wh..wh..opq"), f("lower/sub/.wh..wh..opq"),
                      f("lower/sub/mine", "m")],
    "opaque_through_symlink": [sym("up", "../.."), f("up/lower/.wh..wh..opq")],
    "opaque_escape": [f("a/../../.wh..wh..opq")],
    # Whiteouts naming "..", ".", and through a symlink that climbs.
    "whiteout_dotdot": [f(".wh..."), f("x", "never")],
    "whiteout_dotdot_nested": [f("lower/.wh...")],
    "whiteout_dot": [f("lower/.wh..")],
    "whiteout_through_symlink": [sym("up", "../../.."), f("up/.wh.outside"),
                                 f("up/lower/.wh.keep")],
    "whiteout_reserved_meta": [f("lower/.wh..wh.plnk")],
    "whiteout_as_directory": [f(".wh.lower/x", "x")],
    # The same path as a file, a directory, a symlink to "/", then a write through it.
    "duplicate_paths": [f("x", "file"), d("x"), f("x/inner", "i"), sym("x", "/"),
                        f("x/after", "after")],
    # A file replacing a symlink that points out of the root.
    "file_over_symlink": [sym("s", "../outside/secret"), f("s", "overwritten")],
    # A directory entry replacing a symlink to the host sibling, with a wide mode.
    "dir_over_symlink": [sym("s", "../outside"), d("s", 0o777)],
    # The root entry "." as a symlink to "/", then a file.
    "root_symlink": [sym(".", "/"), f("after", "x")],
    # "./" as the first entry and "./"-prefixed names (docker save, GNU tar).
    "dot_slash_entry": [d("./"), d("./etc/"), f("./etc/hosts", "127.0.0.1 localhost")],
    # 1000 nested directories.
    "deep_nesting": [f(DEEP + "/f", "deep")],
    # A path near PATH_MAX, and a component over NAME_MAX.
    "long_path": [f(LONG_OK + "/f", "long")],
    "long_component": [f(LONG_PART, "long")],
    # Device nodes and a fifo.
    "device_nodes": [d("dev"), dev("dev/null", tarfile.CHRTYPE, 1, 3),
                     dev("dev/sda", tarfile.BLKTYPE, 8, 0), dev("dev/fifo", tarfile.FIFOTYPE, 0, 0)],
    # Setuid, owners and a file capability.
    "setuid_owners_caps": [
        d("usr"), d("usr/bin"), f("usr/bin/su", "elf", 0o4755),
        f("usr/bin/ping", "elf", 0o755, xattrs={"security.capability":
                                                 "\x01\x00\x00\x02\x00\x20\x00\x00"
                                                 "\x00\x00\x00\x00\x00\x00\x00\x00"
                                                 "\x00\x00\x00\x00"}),
        f("home", "h", 0o600, uid=1000, gid=1000)],
}


# Bombs: (file suffix, tar format, entries). Limits are checked by the test's decompressor and
# the tar reader's defaults (1 MiB PAX header, 64 KiB GNU long name).
ZEROS = 16 << 20
BOMBS = {
    # 16 MiB of zeros gzip to ~16 KiB: a ratio of ~1000:1.
    "bomb_ratio": (".tar.gz", tarfile.PAX_FORMAT, [f("zeros", bytes(ZEROS))]),
    # One PAX extended header of 2 MiB.
    "bomb_pax_header": (".tar", tarfile.PAX_FORMAT,
                        [with_pax(f("x"), {"comment": "z" * (2 << 20)})]),
    # A GNU long name of 100 KB.
    "bomb_gnu_long_name": (".tar", tarfile.GNU_FORMAT, [f("n/" * 50_000 + "f", "x")]),
}


def tar_bytes(entries, format_=tarfile.PAX_FORMAT):
    buf = io.BytesIO()
    with tarfile.open(fileobj=buf, mode="w", format=format_) as tar:
        for ti, data in entries:
            tar.addfile(ti, io.BytesIO(data) if data is not None else None)
    return buf.getvalue()


def write(path, data):
    with open(path, "wb") as out:
        out.write(data)


def main():
    if len(sys.argv) != 2:
        sys.exit(__doc__)
    out = sys.argv[1]
    os.makedirs(out, exist_ok=True)
    for name, entries in CASES.items():
        write(os.path.join(out, name + ".tar"), tar_bytes(entries))
    for name, (suffix, format_, entries) in BOMBS.items():
        data = tar_bytes(entries, format_)
        if suffix == ".tar.gz":
            data = gzip.compress(data, compresslevel=9, mtime=0)
        write(os.path.join(out, name + suffix), data)


if __name__ == "__main__":
    main()
