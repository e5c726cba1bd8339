#include "reckon/core/files.hpp"

#include <gtest/gtest.h>

#include "test_support.hpp"

namespace reckon {
namespace {

TEST(Files, AtomicWriteReplacesWholeFile) {
  test::TempDir dir;
  const auto p = dir / "out.bin";
  write_file_atomic(p, "first version");
  write_file_atomic(p, "second");
  EXPECT_EQ(read_file(p), "second");
  // No temporary files are left behind.
  int files = 0;
  for ([[maybe_unused]] const auto& e : std::filesystem::directory_iterator(dir.path())) ++files;
  EXPECT_EQ(files, 1);
}

TEST(Files, AtomicWriteIntoMissingDirectoryFailsCleanly) {
  test::TempDir dir;
  EXPECT_THROW(write_file_atomic(dir / "no/such/dir/x", "x"), IoError);
}

TEST(Files, CheckedFileRoundTrip) {
  test::TempDir dir;
  const auto p = dir / "c.bin";
  write_checked_file(p, "TESTMAGI", 2, {7, 8}, "payload bytes");
  const CheckedFile f = read_checked_file(p, "TESTMAGI", 2, "test");
  EXPECT_EQ(f.version, 2u);
  EXPECT_EQ(f.fields, (std::vector<std::uint64_t>{7, 8}));
  EXPECT_EQ(f.body, "payload bytes");
  EXPECT_EQ(read_checked_header(p, "TESTMAGI", 2, "test").fields[1], 8u);
}

TEST(Files, CheckedFileRefusesDamage) {
  test::TempDir dir;
  const auto p = dir / "c.bin";
  write_checked_file(p, "TESTMAGI", 1, {1}, std::string(1000, 'x'));
  std::string bytes = read_file(p);

  // Wrong magic.
  EXPECT_NE(
      test::error_of([&] { read_checked_file(p, "OTHERMAG", 1, "test"); }).find("not a test file"),
      std::string::npos);
  // Newer version than supported.
  write_checked_file(p, "TESTMAGI", 3, {1}, "x");
  EXPECT_NE(test::error_of([&] { read_checked_file(p, "TESTMAGI", 2, "test"); }).find("version 3"),
            std::string::npos);
  // Truncated.
  write_file_atomic(p, bytes.substr(0, bytes.size() - 10));
  EXPECT_NE(test::error_of([&] { read_checked_file(p, "TESTMAGI", 1, "test"); }).find("truncated"),
            std::string::npos);
  // One flipped byte in the body.
  std::string flipped = bytes;
  flipped[flipped.size() - 100] ^= 0x20;
  write_file_atomic(p, flipped);
  EXPECT_NE(test::error_of([&] { read_checked_file(p, "TESTMAGI", 1, "test"); }).find("checksum"),
            std::string::npos);
  // One flipped byte in the header counts.
  flipped = bytes;
  flipped[16] ^= 0x01;
  write_file_atomic(p, flipped);
  EXPECT_NE(test::error_of([&] { read_checked_file(p, "TESTMAGI", 1, "test"); }), "");
  // Empty file.
  write_file_atomic(p, "");
  EXPECT_NE(test::error_of([&] { read_checked_file(p, "TESTMAGI", 1, "test"); }), "");
}

}  // namespace
}  // namespace reckon
