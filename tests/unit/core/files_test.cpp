#include "reckon/core/files.hpp"

#include <gtest/gtest.h>

#include <algorithm>
#include <cstdlib>
#include <filesystem>

#include "reckon/core/binary_io.hpp"

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

// A body streamed through a BinaryWriter makes the same file, byte for byte, as one held in
// memory: the checksum is computed on the way and the header written last.
TEST(Files, StreamedBodyMakesTheSameFile) {
  test::TempDir dir;
  auto body = [](BinaryWriter& w) {
    w.put_string("name");
    w.put<std::uint64_t>(0);  // a length filled in below, before it is handed on
    const std::size_t at = w.size() - sizeof(std::uint64_t);
    w.put_vector(std::vector<float>(1000, 0.5f));  // 4 kB: larger than the test's chunks
    w.put_aligned_vector(std::span<const std::int64_t>(std::vector<std::int64_t>{1, 2, 3}));
    for (int k = 0; k < 300; ++k) w.put<std::uint8_t>(static_cast<std::uint8_t>(k));
    if (w.size() - at < 64) w.overwrite<std::uint64_t>(at, 7);
  };
  BinaryWriter held;
  body(held);
  write_checked_file(dir / "held.bin", "TESTMAGC", 3, {4, 5}, held.bytes());
  write_checked_file(dir / "streamed.bin", "TESTMAGC", 3, {4, 5}, body);
  EXPECT_EQ(read_file(dir / "streamed.bin"), read_file(dir / "held.bin"));
  const CheckedFile f = read_checked_file(dir / "streamed.bin", "TESTMAGC", 3, "test");
  EXPECT_EQ(f.body, held.bytes());

  // Pieces of 64 bytes: small puts are gathered, a large array goes through whole, and size()
  // counts what was handed on.
  std::string out;
  std::vector<std::size_t> pieces;
  BinaryWriter w(
      [&](std::string_view b) {
        out.append(b);
        pieces.push_back(b.size());
      },
      64);
  body(w);
  w.flush();
  EXPECT_EQ(out, held.bytes());
  EXPECT_EQ(w.size(), held.size());
  EXPECT_GT(pieces.size(), 3u);
  EXPECT_NE(std::find(pieces.begin(), pieces.end(), 4000u), pieces.end());
  // A failure while writing the body leaves no file behind.
  EXPECT_THROW(write_checked_file(dir / "failed.bin", "TESTMAGC", 3, {},
                                  [](BinaryWriter&) { throw IoError("disk on fire"); }),
               IoError);
  EXPECT_FALSE(std::filesystem::exists(dir / "failed.bin"));
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

// A file truncated while a command reads it in place: the bus error ends the process with a
// message that says what happened and what to do, and status 1, not a crash.
TEST(FilesDeathTest, TruncationUnderTheMapEndsWithAClearMessage) {
  GTEST_FLAG_SET(death_test_style, "threadsafe");
  test::TempDir dir;
  const auto p = dir / "c.bin";
  write_checked_file(p, "TESTMAGI", 2, {}, std::string(1 << 16, 'x'));
  EXPECT_EXIT(
      {
        exit_clearly_on_bus_error();
        const CheckedFile f = read_checked_file(p, "TESTMAGI", 2, "test");
        std::filesystem::resize_file(p, 0);
        volatile char c = f.body[f.body.size() - 1];
        (void)c;
        std::_Exit(0);
      },
      ::testing::ExitedWithCode(1), "truncated or rewritten while in use");
}

}  // namespace
}  // namespace reckon
