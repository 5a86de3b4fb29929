// ADD <git ref> <dir>: a git repository at a branch, tag or commit, added as a directory, as
// BuildKit adds it. bonsai runs the host's git (on the host's network, never inside the sandbox)
// with a clean environment: no system or user configuration, an empty HOME, no prompts, only the
// http, https, git and ssh transports (for submodules too), ssh in batch mode.
//
// Sources (is_git_source), as BuildKit's Dockerfile frontend tells them from local paths and
// plain URLs:
//   http[s]://host/path.git   the URL's path must end in ".git", otherwise it is a plain download
//   git://host/path           ssh://[user@]host[:port]/path
//   user@host:path            scp-like ssh; the user is required ("host:path" is a local path)
// then an optional query and fragment (docs.docker.com/build/concepts/context, "URL fragments"
// and "URL queries"):
//   #<ref>  #<ref>:<subdir>  #:<subdir>     ("#" or "#:" alone: the default branch, the root)
//   ?ref=<ref> ?branch=<name> ?tag=<name> ?subdir=<dir> ?checksum=<hex> (alias ?commit=)
//   ?keep-git-dir[=<bool>] ?submodules[=<bool>]
// A ref is a branch, a tag, a full ref name ("pull/42/head", "refs/tags/v1") or a full commit
// name (40 hex digits, 64 for SHA-256 repositories; short names are not supported); none means
// the remote's HEAD. A name that is both a branch and a tag is the branch. The checksum is a hex
// prefix of the commit (or of the annotated tag object) the ref must name.
//
// What lands in the image (fetch_git; the caller copies `root` like a COPY of a directory): the
// files of the commit with its submodules, recursively, each at its pinned commit; no .git (the
// repository's or a submodule's) unless keep-git-dir, which BuildKit honours only without a
// subdir. Files are 0644, or 0755 when git has them executable; directories 0755; symlinks are
// kept as symlinks. mtimes are the checkout's (BuildKit's default; the build's
// SOURCE_DATE_EPOCH clamps them as for any layer).
#pragma once

#include <optional>
#include <string>
#include <string_view>

#include "util/error.h"

namespace bonsai::build {

struct GitSource {
  std::string display;   // the source as written, a URL password shown as "xxxxx": for messages
  std::string remote;    // what git fetches: the source without query and fragment
  std::string ref;       // as described above; empty: the remote's HEAD
  std::string subdir;    // clean relative path without "..", "" for the whole tree
  std::string checksum;  // lowercase hex prefix; empty: no check
  std::optional<bool> keep_git_dir;  // ?keep-git-dir, or --keep-git-dir via apply_add_flags
  bool submodules = true;            // ?submodules=false skips them
};

// A ref resolved on the remote.
struct GitRevision {
  std::string commit;  // full lowercase hex name of the commit (an annotated tag is peeled)
  std::string ref;     // full name the ref was found as ("refs/heads/main"); "" for a commit
};

struct GitCheckout {
  std::string root;  // host directory whose contents ADD copies (the subdir applied)
};

// Whether ADD treats source as a git repository rather than a URL or a local path. A true answer
// does not mean the source is valid: parse_git_source reports what is wrong with it.
bool is_git_source(std::string_view source);

// Splits a git source into its parts. Malformed queries, conflicting ref/branch/tag/subdir
// values, refs git would read as options or patterns ("-oProxyCommand=…", "a*", "a..b"), hosts
// or users beginning with '-', a subdir with ".." and a non-hex checksum are kInvalidArgument
// errors naming the source.
util::Result<GitSource> parse_git_source(std::string_view source);

// Merges ADD's --checksum (a hex commit prefix for git sources) and --keep-git-dir flags into
// source. As in BuildKit, a flag may not contradict the URL's query: kInvalidArgument.
util::Status apply_add_flags(GitSource& source, std::string_view checksum, bool keep_git_dir);

// The commit the source's ref names on the remote now (git ls-remote), checked against
// source.checksum. A full commit name is taken as it is, without asking the remote.
// Errors: kNotFound for a ref the remote does not have ("no ref \"x\" in the repository"),
// kCorrupt for a checksum that does not match, kIo when git fails (with git's last message),
// kNotFound when git is not installed. Each names the source.
util::Result<GitRevision> resolve_git_revision(const GitSource& source);

// The part of ADD's cache key that stands for the files fetch_git returns: the commit decides
// them, plus the subdir and the options; with keep-git-dir also the ref and remote, which the
// kept .git records.
std::string git_cache_content(const GitSource& source, const GitRevision& revision);

// Fetches revision.commit (shallow when the server allows it) into a new directory under dir and
// checks it out with its submodules. On success `root` holds the tree described at the top of
// this file; it may hold symlinks to anywhere, so the caller must read it confined to `root`
// (sys::RootFs). The subdir must be a real directory in the commit, not a symlink. With
// keep-git-dir the kept .git has `origin` set to the remote, HEAD detached at the commit and, for
// a branch or tag ref, that ref pointing at the commit. On failure nothing is left under dir.
// REQUIRES: revision comes from resolve_git_revision(source).
util::Result<GitCheckout> fetch_git(const GitSource& source, const GitRevision& revision,
                                    const std::string& dir);

}  // namespace bonsai::build
