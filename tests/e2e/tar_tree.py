#!/usr/bin/env python3
"""List the file tree in a tar stream, one sorted line per entry, for comparing two root
filesystems (e.g. `docker export` of two images built from the same Dockerfile).

Usage: tar_tree.py [--no-content PREFIX]... [TAR]   (TAR defaults to stdin; a pipe is fine)

Each line is: PATH TYPE MODE UID:GID SIZE SHA256 TARGET [xattr:NAME=SHA256...]
  TYPE   d dir, f regular file, l symlink, c/b device (SIZE is MAJOR,MINOR), p fifo
  MODE   permission bits in octal, setuid/setgid/sticky included
  SHA256 of the content (regular files), "-" otherwise
  TARGET the symlink target; for a file with hard links, "=" and the first path (sorted) of its
         link group, so two trees compare equal whatever order the tar lists the links in
Modification times are left out. Regular files under a --no-content PREFIX are left out (their
directories stay): use it for a tree whose file names and bytes differ between two builds of the
same Dockerfile by any builder, such as the Go build cache, which names entries by hashes of
inputs that include build times.
"""
import hashlib
import sys
import tarfile


def normalize(name):
    while name.startswith("./") or name.startswith("/"):
        name = name[1:] if name.startswith("/") else name[2:]
    name = name.rstrip("/")
    return "/" if name in ("", ".") else "/" + name


def main(argv):
    no_content, files = [], []
    args = iter(argv)
    for a in args:
        if a == "--no-content":
            no_content.append(next(args).rstrip("/"))
        else:
            files.append(a)
    src = open(files[0], "rb") if files else sys.stdin.buffer
    entries = {}  # path -> [type, mode, owner, size, digest, target, xattrs]
    links = {}  # hard link path -> path it names in the tar
    with tarfile.open(fileobj=src, mode="r|*") as tar:
        for m in tar:
            path = normalize(m.name)
            xattrs = sorted(
                "xattr:%s=%s" % (k[len("SCHILY.xattr."):], hashlib.sha256(v.encode("utf-8", "surrogateescape")).hexdigest()[:16])
                for k, v in m.pax_headers.items() if k.startswith("SCHILY.xattr."))
            owner = "%d:%d" % (m.uid, m.gid)
            mode = "%04o" % (m.mode & 0o7777)
            if m.islnk():
                links[path] = normalize(m.linkname)
                entries[path] = ["h", mode, owner, "", "", "", xattrs]
            elif m.isreg():
                h = hashlib.sha256()
                f = tar.extractfile(m)
                for chunk in iter(lambda: f.read(1 << 20), b""):
                    h.update(chunk)
                entries[path] = ["f", mode, owner, str(m.size), h.hexdigest(), "-", xattrs]
            elif m.isdir():
                entries[path] = ["d", mode, owner, "-", "-", "-", xattrs]
            elif m.issym():
                entries[path] = ["l", mode, owner, "-", "-", m.linkname, xattrs]
            elif m.ischr() or m.isblk():
                kind = "c" if m.ischr() else "b"
                entries[path] = [kind, mode, owner, "%d,%d" % (m.devmajor, m.devminor), "-", "-", xattrs]
            elif m.isfifo():
                entries[path] = ["p", mode, owner, "-", "-", "-", xattrs]
            else:
                entries[path] = ["?%s" % m.type.decode(errors="replace"), mode, owner, "-", "-", "-", xattrs]
    # Hard links: each member of a group gets the content of the file the group names and, as
    # its target, the group's first path in sorted order.
    groups = {}
    for link, target in links.items():
        while target in links:
            target = links[target]
        groups.setdefault(target, [target]).append(link)
    for target, members in groups.items():
        leader = "=" + min(members)
        base = entries.get(target)
        for p in members:
            e = entries[p]
            if base is not None and base[0] == "f":
                e[0], e[3], e[4] = "f", base[3], base[4]
            e[5] = leader
    for path in sorted(entries):
        e = entries[path]
        if e[0] == "f" and any(path == p or path.startswith(p + "/") for p in no_content):
            continue
        print(" ".join([path] + e[:6] + e[6]))


if __name__ == "__main__":
    main(sys.argv[1:])
