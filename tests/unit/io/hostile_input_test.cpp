// Inputs a hostile or merely unlucky user gives the importer: headers without a known column,
// byte-order marks, numbers beyond float's range, deep JSON, huge claims in gzip trailers,
// pipes, and outputs that are not regular files. Each crashed or misbehaved before its fix.
#include <gtest/gtest.h>
#include <sys/stat.h>
#include <unistd.h>

#include <cstdio>
#include <thread>

#include "reckon/core/files.hpp"
#include "reckon/io/import.hpp"
#include "reckon/io/json.hpp"
#include "reckon/io/text.hpp"
#include "test_support.hpp"

namespace reckon {
namespace {

using test::error_of;
using test::TempDir;

std::string import_error(const std::filesystem::path& p, const ImportOptions& o = {}) {
  return error_of([&] { import_dataset(p, o); });
}

TEST(HostileCsv, HeaderWithoutAUserColumnSaysWhichAndSuggestsTheFlag) {
  TempDir dir;
  // Read fields[-1] before: the header names an item but no user.
  std::string header = "item";
  for (int c = 0; c < 63; ++c) header += ",c" + std::to_string(c);
  std::string row = "1";
  for (int c = 0; c < 63; ++c) row += ",0";
  const auto e = import_error(dir.file("wide.csv", header + "\n" + row + "\n"));
  EXPECT_NE(e.find("no user column"), std::string::npos) << e;
  EXPECT_NE(e.find("--user-col"), std::string::npos) << e;
  const auto e2 = import_error(dir.file("c.csv", "client_name,item,rating\nx,1,5\n"));
  EXPECT_NE(e2.find("no user column"), std::string::npos) << e2;
  const auto e3 = import_error(dir.file("i.csv", "user,thing,rating\nx,1,5\n"));
  EXPECT_NE(e3.find("no item column"), std::string::npos) << e3;
  EXPECT_NE(e3.find("--item-col"), std::string::npos) << e3;
}

TEST(HostileCsv, ByteOrderMarkIsSkipped) {
  TempDir dir;
  const Dataset d =
      import_dataset(dir.file("bom.csv", "\xEF\xBB\xBFuser,item,rating\n1,2,5\n"), {});
  EXPECT_EQ(d.num_interactions(), 1);
  EXPECT_EQ(d.users.id(0), "1");
  EXPECT_TRUE(d.explicit_ratings);
}

TEST(HostileCsv, CommonHeaderNamesAreRecognised) {
  TempDir dir;
  for (const char* header :
       {"customer,item,rating", "customer_id,product_id,rating", "userID\tartistID\tweight",
        "UserId,ItemId,Rating", "user_id,movieId,rating", "user_id,book_id,rating",
        "user_id,track_id,plays", "user_id,post_id,target"}) {
    const std::string h = header;
    const char sep = h.find('\t') != std::string::npos ? '\t' : ',';
    const std::string row = std::string("7") + sep + "9" + sep + "2";
    const Dataset d = import_dataset(dir.file("h.csv", h + "\n" + row + "\n"), {});
    ASSERT_EQ(d.num_interactions(), 1) << header;
    EXPECT_EQ(d.users.id(0), "7") << header;
    EXPECT_EQ(d.items.id(0), "9") << header;
    EXPECT_FLOAT_EQ(d.interactions.values()[0], 2.0f) << header;
  }
}

TEST(HostileCsv, MessagesNumberColumnsFromOneAndNameTheSeparator) {
  TempDir dir;
  const auto e = import_error(dir.file("s.txt", "u1 i1 5\nu2 i2 x\n"));
  EXPECT_NE(e.find("s.txt:2: expected a numeric rating in column 3"), std::string::npos) << e;
  const auto e2 = import_error(dir.file("t.txt", "u1 i1 5\nu2\n"));
  EXPECT_NE(e2.find("separated by spaces"), std::string::npos) << e2;
  EXPECT_EQ(e2.find("','"), std::string::npos) << e2;
  // Aligned columns (runs of spaces) are one separator.
  const Dataset d = import_dataset(dir.file("a.txt", "u1   i1   5\nu22  i2   4\n"), {});
  EXPECT_EQ(d.num_interactions(), 2);
}

TEST(HostileNumbers, RatingBeyondFloatRangeIsRefused) {
  TempDir dir;
  // Finite as a double, +inf as a float: info showed "1 .. inf" and models returned nothing.
  const auto e = import_error(
      dir.file("big.csv", "user,item,rating\n1,2,340282356779733661637539395458142568448\n"));
  EXPECT_NE(e.find("big.csv:2: expected a rating within float's range"), std::string::npos) << e;
  const auto j = import_error(dir.file("big.jsonl", "{\"user\":1,\"item\":2,\"rating\":1e39}\n"));
  EXPECT_NE(j.find("big.jsonl:1:"), std::string::npos) << j;
}

TEST(HostileNumbers, TimesBeyondRangeAreRefusedNotConverted) {
  TempDir dir;
  // Undefined float-to-integer conversions before (UBSan).
  const auto e = import_error(dir.file("t.csv", "user,item,rating,time\n1,2,3,1e23\n"));
  EXPECT_NE(e.find("t.csv:2: expected a timestamp"), std::string::npos) << e;
  const auto j = import_error(dir.file("t.jsonl", "{\"user\":1,\"item\":2,\"time\":1e30}\n"));
  EXPECT_NE(j.find("t.jsonl:1: expected a timestamp"), std::string::npos) << j;
  EXPECT_FALSE(parse_timestamp("9223372036854775807").has_value());
  EXPECT_FALSE(parse_timestamp("-1e300").has_value());
  EXPECT_EQ(parse_timestamp("1.5e9"), 1500000000);
}

TEST(HostileJson, NumberOverflowNamesFileAndLine) {
  TempDir dir;
  // Was "internal error" without file and line.
  const auto e = import_error(dir.file("o.jsonl", "{\"user\":1,\"item\":2,\"rating\":1e999}\n"));
  EXPECT_NE(e.find("o.jsonl:1: expected a JSON object"), std::string::npos) << e;
}

TEST(HostileJson, DepthIsBounded) {
  const std::string deep = std::string(70000, '[') + std::string(70000, ']');
  std::string why;
  EXPECT_FALSE(parse_json(deep, &why).has_value());
  EXPECT_NE(why.find("deeper than"), std::string::npos);
  EXPECT_TRUE(parse_json(std::string(64, '[') + std::string(64, ']')).has_value());
  EXPECT_FALSE(parse_json(std::string(65, '[') + std::string(65, ']')).has_value());
  // Brackets inside strings do not count, escaped quotes do not end them.
  EXPECT_TRUE(parse_json("{\"a\":\"[[[[\\\"[[[[\"}", nullptr, 1).has_value());
  TempDir dir;
  const auto e = import_error(dir.file("d.jsonl", "{\"user\":" + std::string(5000, '[') +
                                                      std::string(5000, ']') + ",\"item\":1}\n"));
  EXPECT_NE(e.find("d.jsonl:1:"), std::string::npos) << e;
  EXPECT_NE(e.find("deeper than"), std::string::npos) << e;
}

TEST(HostileGzip, MemoryBudgetRefusesWhatWouldNotFit) {
  TempDir dir;
  std::string rows = "user,item\n";
  for (int i = 0; i < 300000; ++i) rows += std::to_string(i) + "," + std::to_string(i % 97) + "\n";
  ImportOptions o;
  o.max_memory = 4u << 20;  // 4 MB: the 300k rows need ~40 MB
  const auto e = import_error(dir.gz_file("many.csv.gz", rows), o);
  EXPECT_NE(e.find("memory budget of 4 MB"), std::string::npos) << e;
  o.max_memory = 256u << 20;
  EXPECT_EQ(import_dataset(dir.gz_file("many.csv.gz", rows), o).num_interactions(), 300000);
}

TEST(HostileGzip, TrailerSizeClaimDoesNotDriveTheReservation) {
  TempDir dir;
  // A gzip whose trailer claims 4 GB (ISIZE = 0xFFFFFFFF) but holds two rows.
  auto p = dir.gz_file("claim.csv.gz", "user,item\n1,2\n");
  std::string bytes = read_file(p);
  for (int k = 1; k <= 4; ++k) bytes[bytes.size() - k] = '\xff';
  write_file_atomic(p, bytes);
  ImportOptions o;
  o.max_memory = 64u << 20;
  // The stream's CRC/length check fails on the altered trailer or it reads: either way, no
  // 4 GB reservation and no crash.
  const auto e = import_error(p, o);
  if (!e.empty()) {
    EXPECT_NE(e.find("claim.csv.gz"), std::string::npos) << e;
  }
}

TEST(HostilePipe, StandardInputAndFifosAreReadOnce) {
  TempDir dir;
  const auto fifo = dir / "in.fifo";
  ASSERT_EQ(::mkfifo(fifo.c_str(), 0600), 0);
  std::thread writer([&] {
    std::FILE* f = std::fopen(fifo.c_str(), "w");
    std::fputs("user,item,rating\n1,2,5\n3,4,1\n", f);
    std::fclose(f);
  });
  const Dataset d = import_dataset(fifo, {});
  writer.join();
  EXPECT_EQ(d.num_interactions(), 2);
  EXPECT_TRUE(d.explicit_ratings);
  // Errors name the pipe, not the temporary copy.
  std::thread writer2([&] {
    std::FILE* f = std::fopen(fifo.c_str(), "w");
    std::fputs("user,item,rating\n1,2,five\n", f);
    std::fclose(f);
  });
  const auto e = import_error(fifo);
  writer2.join();
  EXPECT_NE(e.find("in.fifo:2: expected a numeric rating"), std::string::npos) << e;
}

TEST(HostileOutput, DevicesAndFifosAreRefusedSymlinksWrittenThrough) {
  TempDir dir;
  const auto fifo = dir / "out.fifo";
  ASSERT_EQ(::mkfifo(fifo.c_str(), 0600), 0);
  EXPECT_NE(error_of([&] { write_file_atomic(fifo, "x"); }).find("not a regular file (a FIFO)"),
            std::string::npos);
  std::error_code ec;
  EXPECT_TRUE(std::filesystem::is_fifo(fifo, ec)) << "the FIFO must stay";
  EXPECT_NE(error_of([&] { write_file_atomic("/dev/null", "x"); }).find("a device"),
            std::string::npos);
  EXPECT_NE(error_of([&] { write_file_atomic(dir.path(), "x"); }).find("a directory"),
            std::string::npos);
  const auto target = dir.file("target.txt", "old");
  std::filesystem::create_symlink("target.txt", dir / "link.txt");
  write_file_atomic(dir / "link.txt", "new");
  EXPECT_TRUE(std::filesystem::is_symlink(dir / "link.txt"));
  EXPECT_EQ(read_file(target), "new");
}

}  // namespace
}  // namespace reckon

namespace reckon {
namespace {

TEST(HostileMetadata, FortyThousandColumnsAreRead) {
  // Took 48 s before: each column was found by a linear search over the ones before it.
  test::TempDir dir;
  std::string header = "id", row = "a";
  for (int c = 0; c < 40000; ++c) {
    header += ",c" + std::to_string(c);
    row += "," + std::to_string(c % 7);
  }
  const auto path = dir.file("wide.csv", header + "\n" + row + "\n");
  const IdMap ids = IdMap::from_ids({"a", "b"});
  FeatureTable table(2);
  read_metadata(path, ids, table, {});
  EXPECT_EQ(table.columns().size(), 40000u);
  ASSERT_NE(table.find("c39999"), nullptr);
  EXPECT_FLOAT_EQ(table.find("c39999")->number(0), 39999 % 7);
}

}  // namespace
}  // namespace reckon
