#include "reckon/io/dataset_file.hpp"

#include <gtest/gtest.h>

#include <cstring>
#include <memory>

#include "reckon/core/binary_io.hpp"
#include "reckon/core/files.hpp"
#include "test_support.hpp"

namespace reckon {
namespace {

Dataset small_dataset() {
  Dataset d;
  d.name = "tiny";
  d.users = IdMap::from_ids({"alice", "bob"});
  d.items = IdMap::from_ids({"x", "y", "z"});
  d.interactions = CsrMatrix(2, 3, {0, 2, 3}, {0, 2, 1}, {5, 3, 1}, {10, 20, 30});
  d.explicit_ratings = true;
  d.user_features = FeatureTable(2);
  auto& age = d.user_features.column("age", FeatureKind::kNumeric);
  age.set_number(0, 31);
  d.user_features.column("gender", FeatureKind::kCategorical).add_label(1, "M");
  d.item_features = FeatureTable(3);
  d.item_features.column("title", FeatureKind::kText).set_text(2, "Zed (1999)");
  auto& genres = d.item_features.column("genres", FeatureKind::kMultiCategorical);
  genres.add_label(0, "Drama");
  genres.add_label(0, "War");
  genres.add_label(2, "Drama");
  return d;
}

TEST(DatasetFile, RoundTripKeepsEverything) {
  test::TempDir dir;
  const Dataset d = small_dataset();
  save_dataset(d, dir / "d.rkd");
  EXPECT_TRUE(is_dataset_file(dir / "d.rkd"));
  const Dataset r = load_dataset(dir / "d.rkd");
  EXPECT_EQ(r.name, "tiny");
  EXPECT_TRUE(r.explicit_ratings);
  EXPECT_EQ(r.users.ids(), d.users.ids());
  EXPECT_EQ(r.items.ids(), d.items.ids());
  EXPECT_EQ(r.interactions, d.interactions);
  EXPECT_FLOAT_EQ(r.user_features.find("age")->number(0), 31.0f);
  EXPECT_FALSE(r.user_features.find("age")->has_value(1));
  EXPECT_EQ(r.user_features.find("gender")->format(1), "M");
  EXPECT_EQ(r.item_features.find("title")->text(2), "Zed (1999)");
  EXPECT_EQ(r.item_features.find("genres")->format(0), "Drama|War");
  EXPECT_EQ(r.item_features.find("genres")->codes(2).size(), 1u);
}

TEST(DatasetFile, RefusesTruncatedCorruptAndForeignFiles) {
  test::TempDir dir;
  save_dataset(small_dataset(), dir / "d.rkd");
  const std::string bytes = read_file(dir / "d.rkd");
  for (std::size_t cut : {std::size_t{0}, std::size_t{7}, std::size_t{40}, bytes.size() - 1}) {
    write_file_atomic(dir / "t.rkd", bytes.substr(0, cut));
    const auto e = test::error_of([&] { load_dataset(dir / "t.rkd"); });
    EXPECT_NE(e.find("t.rkd"), std::string::npos) << "cut at " << cut << ": " << e;
  }
  for (std::size_t pos = 60; pos < bytes.size(); pos += 7) {
    std::string damaged = bytes;
    damaged[pos] ^= 0x5A;
    write_file_atomic(dir / "c.rkd", damaged);
    EXPECT_NE(test::error_of([&] { load_dataset(dir / "c.rkd"); }), "") << "byte " << pos;
  }
  write_file_atomic(dir / "f.rkd", "user,item\n1,2\n");
  EXPECT_NE(test::error_of([&] { load_dataset(dir / "f.rkd"); }).find("not a reckon dataset"),
            std::string::npos);
  EXPECT_THROW(load_dataset(dir / "missing.rkd"), IoError);
}

// True when `p` points into `bytes`.
bool inside(const void* p, std::string_view bytes) {
  const auto* c = static_cast<const char*>(p);
  return c >= bytes.data() && c < bytes.data() + bytes.size();
}

// Formats 2 and 3 let a reader view the interaction arrays where they lie (a memory-mapped file)
// instead of copying 16 bytes an interaction into its own heap.
TEST(DatasetFile, AlignedFormatIsViewedInPlaceWhenAnOwnerKeepsItAlive) {
  const Dataset d = small_dataset();
  const std::string body = encode_dataset(d, kDatasetFormatVersion);
  // An 8-byte aligned copy of the body, as a page-aligned mapping is.
  auto storage = std::make_shared<std::vector<std::uint64_t>>(body.size() / 8 + 1);
  std::memcpy(storage->data(), body.data(), body.size());
  const std::string_view bytes(reinterpret_cast<const char*>(storage->data()), body.size());

  Dataset viewed = decode_dataset(bytes, "aligned", kDatasetFormatVersion, storage);
  EXPECT_EQ(viewed.interactions, d.interactions);
  EXPECT_TRUE(inside(viewed.interactions.indptr().data(), bytes));
  EXPECT_TRUE(inside(viewed.interactions.indices().data(), bytes));
  EXPECT_TRUE(inside(viewed.interactions.values().data(), bytes));
  EXPECT_TRUE(inside(viewed.interactions.times().data(), bytes));
  // The view keeps the storage alive after the caller lets go of it.
  const std::weak_ptr<std::vector<std::uint64_t>> watch = storage;
  storage.reset();
  EXPECT_FALSE(watch.expired());
  EXPECT_EQ(viewed.interactions.indices()[1], 2);
  viewed = Dataset{};
  EXPECT_TRUE(watch.expired());

  // Without an owner the arrays are copied: nothing points into bytes the caller may free.
  const Dataset copied = decode_dataset(body, "copied", kDatasetFormatVersion);
  EXPECT_EQ(copied.interactions, d.interactions);
  EXPECT_FALSE(inside(copied.interactions.indices().data(), body));
  // Misaligned in memory (the body one byte into a buffer): copied too, with the same content.
  const std::string shifted = " " + body;
  const Dataset moved =
      decode_dataset(std::string_view(shifted).substr(1), "shifted", kDatasetFormatVersion,
                     std::make_shared<std::string>(shifted));
  EXPECT_EQ(moved.interactions, d.interactions);

  // Format 2's 64-bit items are narrowed into a copy; its other arrays are still viewed.
  const std::string v2 = encode_dataset(d, 2);
  auto v2_storage = std::make_shared<std::vector<std::uint64_t>>(v2.size() / 8 + 1);
  std::memcpy(v2_storage->data(), v2.data(), v2.size());
  const std::string_view v2_bytes(reinterpret_cast<const char*>(v2_storage->data()), v2.size());
  const Dataset old = decode_dataset(v2_bytes, "v2", 2, v2_storage);
  EXPECT_EQ(old.interactions, d.interactions);
  EXPECT_FALSE(inside(old.interactions.indices().data(), v2_bytes));
  EXPECT_TRUE(inside(old.interactions.values().data(), v2_bytes));
  // 4 bytes an interaction less than format 2 (less the padding of the 32-bit array).
  const auto saved = static_cast<std::int64_t>(v2.size()) - static_cast<std::int64_t>(body.size());
  EXPECT_GT(saved, 4 * d.interactions.nnz() - 8);
  EXPECT_LE(saved, 4 * d.interactions.nnz());
}

// Files written before 0.16.0 (format 1, packed arrays) and before 0.18.0 (format 2, 64-bit
// items) still load.
TEST(DatasetFile, OlderVersionsStillLoad) {
  test::TempDir dir;
  const Dataset d = small_dataset();
  for (std::uint32_t version : {1u, 2u}) {
    SCOPED_TRACE(version);
    const auto path = dir / ("v" + std::to_string(version) + ".rkd");
    write_checked_file(path, "RECKONDS", version,
                       {2, 3, static_cast<std::uint64_t>(d.interactions.nnz())},
                       encode_dataset(d, version));
    const Dataset r = load_dataset(path);
    EXPECT_EQ(r.interactions, d.interactions);
    EXPECT_EQ(r.item_features.find("genres")->format(0), "Drama|War");
  }
  // And the current version through the file path.
  save_dataset(d, dir / "v3.rkd");
  EXPECT_EQ(read_checked_header(dir / "v3.rkd", "RECKONDS", kDatasetFormatVersion, "rkd").version,
            3u);
  EXPECT_EQ(load_dataset(dir / "v3.rkd").interactions, d.interactions);
}

}  // namespace
}  // namespace reckon

namespace reckon {
namespace {

// Found by fuzz_rkm: label offsets that rise past the codes and come back down by the last row
// passed the per-row check and read beyond the codes. Every offset is checked first now.
TEST(DatasetFile, LabelOffsetsBeyondTheCodesAreRefused) {
  auto column = [](std::vector<std::int64_t> offsets, std::uint8_t kind) {
    BinaryWriter w;
    w.put_string("tags");
    w.put<std::uint8_t>(kind);
    w.put<std::int64_t>(2);
    w.put_vector(std::vector<float>{});
    w.put_strings({"a"});
    w.put_vector(offsets);
    w.put_vector(std::vector<std::int32_t>{0, 0, 0});
    w.put_strings({});
    return std::string(w.bytes());
  };
  auto read = [](const std::string& bytes) {
    return test::error_of([&] {
      BinaryReader r(bytes, "crafted");
      (void)read_feature_column(r);
    });
  };
  EXPECT_EQ(read(column({0, 1, 3}, 2)), "");
  EXPECT_NE(read(column({0, 100, 3}, 2)).find("label offsets"), std::string::npos);
  // A single-label column with two labels in a row is refused too.
  EXPECT_NE(read(column({0, 1, 3}, 1)).find("label offsets"), std::string::npos);
}

}  // namespace
}  // namespace reckon
