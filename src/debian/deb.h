// Debian binary packages (.deb), read in one streaming pass. See deb(5).
//
// A .deb is an ar archive (archive/ar.h) whose members come in this order:
//
//   debian-binary                  the format version, "2.0\n" (any 2.x is read, as by dpkg)
//   control.tar[.gz|.xz|.zst]      the control file, md5sums, conffiles, maintainer scripts...
//   data.tar[.gz|.xz|.zst|.bz2]    the files the package installs
//
// Members whose names start with '_' may stand between them and are skipped (deb(5) reserves
// them for additions that older readers ignore). Nothing after data.tar is read. Compression is
// taken from the member name, as dpkg does, and the content must agree with it.
#pragma once

#include <cstdint>
#include <map>
#include <string>
#include <string_view>

#include "archive/compress.h"
#include "archive/tar.h"
#include "util/error.h"
#include "util/io.h"

namespace bonsai::debian {

using util::Result;
using util::Status;

struct DebControlFile {
  std::string data;
  uint32_t mode = 0644;  // permission bits (07777)
};

// What control.tar holds.
struct DebControl {
  std::string control;    // the control file, as written (parse with debian/control.h)
  std::string md5sums;    // empty when absent
  std::string conffiles;  // empty when absent
  // Every file by name, the three above included: control, md5sums, conffiles, preinst,
  // postinst, prerm, postrm, config, triggers, shlibs, symbols, templates...
  std::map<std::string, DebControlFile> members;
};

// Receives a package's contents as read_deb streams past them.
class DebVisitor {
 public:
  virtual ~DebVisitor() = default;
  // Called once, when control.tar has been read, before any data entry.
  virtual Status on_control(DebControl&& control) = 0;
  // Called for each data.tar entry in archive order (the root "./" included, with the path "").
  // body reads a kFile entry's content; what is left unread is skipped. An error stops reading.
  virtual Status on_data_entry(const archive::TarEntry& entry, util::Reader& body) = 0;
};

struct DebLimits {
  uint64_t max_control = uint64_t{16} << 20;  // decompressed bytes of control.tar
  archive::DecompressLimits data;             // for data.tar
};

// Reads the .deb from `in`, calling the visitor as described above. On failure, returns the
// first error, naming name_for_errors and the member ("hello_1.0_amd64.deb: data.tar.xz: xz:
// unexpected end of stream"); the visitor may already have seen part of the package:
// - kCorrupt: not an ar archive, members missing or out of order, a debian-binary that is not
//   "2.<minor>\n", a member whose content does not match its name's compression, a control.tar
//   without a control file or with anything but regular files at its top level, or a truncated
//   or corrupt member;
// - kUnsupported: format version other than 2.x, a compression dpkg allows but bonsai does not
//   read (data.tar.lzma), a symlink in control.tar;
// - kLimit: control.tar over DebLimits::max_control, data.tar over DebLimits::data;
// - whatever the visitor or `in` returns.
Status read_deb(util::Reader& in, std::string_view name_for_errors, DebVisitor& visitor,
                DebLimits limits = {});

}  // namespace bonsai::debian
