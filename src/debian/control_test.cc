#include "debian/control.h"

#include <gtest/gtest.h>

#include "debian/package.h"

namespace bonsai::debian {
namespace {

TEST(Control, ParagraphsFieldsAndContinuations) {
  std::string text =
      "Package: base-files\n"
      "Version: 12.4+deb12u5\n"
      "Description: Debian base system miscellaneous files\n"
      " This package contains the basic filesystem hierarchy.\n"
      " .\n"
      "  indented more\n"
      "\n"
      "\n"
      "# a comment\n"
      "package: tzdata\r\n"
      "Version:2024a-0+deb12u1\n";
  auto ps = parse_control(text, "Packages");
  ASSERT_TRUE(ps) << ps.error().message();
  ASSERT_EQ(ps->size(), 2u);
  const Paragraph& a = (*ps)[0];
  EXPECT_EQ(a.line, 1);
  EXPECT_EQ(a.get_or("PACKAGE"), "base-files");
  EXPECT_EQ(*a.get("description"),
            "Debian base system miscellaneous files\n"
            "This package contains the basic filesystem hierarchy.\n.\n indented more");
  EXPECT_EQ(a.fields[2].line, 3);
  EXPECT_EQ((*ps)[1].line, 10);
  EXPECT_EQ((*ps)[1].get_or("Package"), "tzdata");
  EXPECT_EQ((*ps)[1].get_or("Version"), "2024a-0+deb12u1");
  EXPECT_EQ((*ps)[1].get("Depends"), nullptr);
  EXPECT_EQ((*ps)[1].get_or("Depends", "none"), "none");
}

TEST(Control, ToStringRoundTrips) {
  std::string text = "Package: a\nDescription: short\n line one\n .\n  two\nMulti-Arch: same\n";
  auto ps = parse_control(text, "x");
  ASSERT_TRUE(ps);
  EXPECT_EQ((*ps)[0].to_string(), text);
}

TEST(Control, ErrorsNameSourceAndLine) {
  auto bad = [](std::string_view text) {
    auto r = parse_control(text, "dists/bookworm/main/binary-amd64/Packages");
    EXPECT_FALSE(r);
    return r ? std::string() : r.error().message();
  };
  EXPECT_EQ(bad(" leading continuation\n"),
            "dists/bookworm/main/binary-amd64/Packages: line 1: continuation line outside a field");
  EXPECT_NE(bad("Package: a\nno colon here\n").find("line 2: expected \"Name: value\""),
            std::string::npos);
  EXPECT_NE(bad("Package: a\n: empty\n").find("line 2: bad field name"), std::string::npos);
  EXPECT_NE(bad("Package: a\nBad Name: x\n").find("line 2: bad field name"), std::string::npos);
  EXPECT_NE(bad("Package: a\nVersion: 1\npackage: b\n").find("line 3: field package repeated"),
            std::string::npos);
}

TEST(Control, CallbackErrorStops) {
  int seen = 0;
  auto st = for_each_paragraph("A: 1\n\nA: 2\n\nA: 3\n", "x", [&](Paragraph&&) -> Status {
    if (++seen == 2) return util::fail(util::ErrorKind::kCorrupt, "stop");
    return {};
  });
  EXPECT_FALSE(st);
  EXPECT_EQ(seen, 2);
}

TEST(Package, FromParagraph) {
  auto ps = parse_control(
      "Package: libc6\nSource: glibc (2.36-9+deb12u4)\nVersion: 2.36-9+deb12u4\n"
      "Architecture: amd64\nMulti-Arch: same\nPriority: optional\n"
      "Depends: libgcc-s1\nBreaks: hurd (<< 1:0.9.git20220301-2)\nSize: 2757936\n"
      "Filename: pool/main/g/glibc/libc6_2.36-9+deb12u4_amd64.deb\n"
      "SHA256: " +
          std::string(64, 'a') + "\n",
      "P");
  ASSERT_TRUE(ps);
  auto pkg = package_from_paragraph((*ps)[0], "P", true);
  ASSERT_TRUE(pkg) << pkg.error().message();
  EXPECT_EQ(pkg->name, "libc6");
  EXPECT_EQ(pkg->source, "glibc");
  EXPECT_EQ(pkg->multi_arch, "same");
  EXPECT_EQ(pkg->size, 2757936u);
  EXPECT_EQ(pkg->depends, "libgcc-s1");
  EXPECT_FALSE(pkg->essential);
  EXPECT_EQ(pkg->priority, "optional");
}

TEST(Package, RejectsUnsafeOrIncompleteEntries) {
  auto check = [](std::string text, std::string_view want) {
    auto ps = parse_control(text, "P");
    ASSERT_TRUE(ps);
    auto pkg = package_from_paragraph((*ps)[0], "P", true);
    ASSERT_FALSE(pkg) << text;
    EXPECT_NE(pkg.error().message().find(want), std::string::npos) << pkg.error().message();
  };
  std::string ok_hash = "SHA256: " + std::string(64, 'b') + "\n";
  check("Package: a\nArchitecture: all\n", "Package, Version and Architecture are required");
  check(
      "Package: a\nVersion: 1\nArchitecture: all\nSize: 1\nFilename: ../../etc/passwd\n" + ok_hash,
      "bad Filename");
  check("Package: a\nVersion: 1\nArchitecture: all\nSize: 1\nFilename: /abs.deb\n" + ok_hash,
        "bad Filename");
  check("Package: a\nVersion: 1\nArchitecture: all\nSize: 1\nFilename: pool/a.deb\nSHA256: zz\n",
        "SHA256 is not 64 hex digits");
  check("Package: a\nVersion: 1\nArchitecture: all\nSize: x1\nFilename: pool/a.deb\n" + ok_hash,
        "bad Size");
}

}  // namespace
}  // namespace bonsai::debian
