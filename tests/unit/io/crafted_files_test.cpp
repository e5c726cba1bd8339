// Files whose checksums are valid but whose arrays disagree: a crafted file, not an accident.
// Each loader must refuse them with InvalidInput, never read out of bounds (the ASan build runs
// these too).
#include <gtest/gtest.h>

#include "reckon/core/binary_io.hpp"
#include "reckon/core/files.hpp"
#include "reckon/io/dataset_file.hpp"
#include "reckon/models/model.hpp"
#include "test_support.hpp"

namespace reckon {
namespace {

struct RawCsr {
  std::vector<index_t> indptr, indices;
  std::vector<float> values;
  std::vector<std::int64_t> times;
};

// One interaction array as format `version` writes it; versions 2 and 3 pad with `pad` (a valid
// file pads with zero bytes) up to the next multiple of 8 bytes.
template <typename T>
void put_array(BinaryWriter& w, const std::vector<T>& v, std::uint32_t version, char pad) {
  if (version == 1) return w.put_vector(v);
  w.put<std::uint64_t>(v.size());
  while (w.size() % 8 != 0) w.put<char>(pad);
  for (const T& x : v) w.put(x);
}

// The body encode_dataset() writes, from raw arrays that need not fit together.
std::string dataset_body(std::size_t users, std::size_t items, const RawCsr& m,
                         std::uint32_t version = 1, char pad = '\0') {
  BinaryWriter w;
  w.put_string("crafted");
  w.put<std::uint8_t>(0);
  std::vector<std::string> u, i;
  for (std::size_t k = 0; k < users; ++k) u.push_back("u" + std::to_string(k));
  for (std::size_t k = 0; k < items; ++k) i.push_back("i" + std::to_string(k));
  w.put_strings(u);
  w.put_strings(i);
  put_array(w, m.indptr, version, pad);
  if (version >= 3)  // 32-bit item indexes (any value: a crafted one may not fit)
    put_array(w, std::vector<col_t>(m.indices.begin(), m.indices.end()), version, pad);
  else
    put_array(w, m.indices, version, pad);
  put_array(w, m.values, version, pad);
  put_array(w, m.times, version, pad);
  for (std::size_t rows : {users, items}) {
    w.put<std::int64_t>(static_cast<std::int64_t>(rows));
    w.put<std::uint64_t>(0);
  }
  return std::move(w).take();
}

std::string load_error(const test::TempDir& dir, std::size_t users, std::size_t items,
                       const RawCsr& m, std::uint32_t version = 1, char pad = '\0') {
  const auto path = dir / "crafted.rkd";
  write_checked_file(path, "RECKONDS", version,
                     {users, items, static_cast<std::uint64_t>(m.indices.size())},
                     dataset_body(users, items, m, version, pad));
  return test::error_of([&] { load_dataset(path); });
}

// Versions 2 and 3 (aligned arrays read in place; 3 with 32-bit items) get the same checks as
// version 1.
TEST(CraftedDataset, AlignedFormatGetsTheSameChecks) {
  test::TempDir dir;
  for (std::uint32_t v : {2u, 3u}) {
    SCOPED_TRACE(v);
    EXPECT_EQ(load_error(dir, 2, 3, {{0, 2, 3}, {0, 2, 1}, {1, 1, 1}, {}}, v), "");
    EXPECT_NE(load_error(dir, 2, 3, {{0, 1000, 3}, {0, 2, 1}, {1, 1, 1}, {}}, v).find("corrupt"),
              std::string::npos);
    EXPECT_NE(load_error(dir, 2, 3, {{0, 2, 3}, {0, 7, 1}, {1, 1, 1}, {}}, v), "");
    EXPECT_NE(load_error(dir, 2, 3, {{0, 2, 3}, {0, -1, 1}, {1, 1, 1}, {}}, v), "");
    EXPECT_NE(load_error(dir, 2, 3, {{0, 2, 3}, {0, 2, 1}, {1, 1}, {}}, v), "");
    EXPECT_NE(load_error(dir, 2, 3, {{0, 2, 3}, {0, 2, 1}, {1, 1, 1}, {5}}, v), "");
    // Non-zero padding is not what reckon writes: refused, not skipped.
    const RawCsr ok{{0, 2, 3}, {0, 2, 1}, {1, 1, 1}, {}};
    ASSERT_NE(dataset_body(2, 3, ok, v, 'x'), dataset_body(2, 3, ok, v));  // padding exists
    EXPECT_NE(load_error(dir, 2, 3, ok, v, 'x').find("padding"), std::string::npos);
  }
  // A 64-bit item index of an old file that would narrow to a valid 32-bit one (2^32 + 1 is 1
  // in 32 bits) is refused, not read as item 1.
  const index_t wraps = (index_t{1} << 32) + 1;
  EXPECT_NE(load_error(dir, 2, 3, {{0, 2, 3}, {0, wraps, 1}, {1, 1, 1}, {}}, 2).find("item index"),
            std::string::npos);
  EXPECT_NE(load_error(dir, 2, 3, {{0, 2, 3}, {0, wraps, 1}, {1, 1, 1}, {}}, 1).find("item index"),
            std::string::npos);
  // A version from the future is refused by name.
  const RawCsr ok{{0, 2, 3}, {0, 2, 1}, {1, 1, 1}, {}};
  EXPECT_NE(load_error(dir, 2, 3, ok, kDatasetFormatVersion + 1).find("version"),
            std::string::npos);
}

TEST(CraftedDataset, ConsistentArraysLoad) {
  test::TempDir dir;
  EXPECT_EQ(load_error(dir, 2, 3, {{0, 2, 3}, {0, 2, 1}, {1, 1, 1}, {}}), "");
}

TEST(CraftedDataset, RowPointerBeyondTheEntriesIsRefused) {
  test::TempDir dir;
  // Row 0 claims 1000 entries; row 1's pointer comes back to the end. A row-by-row check that
  // reads row 0 before looking at row 1 reads far past the arrays.
  EXPECT_NE(load_error(dir, 2, 3, {{0, 1000, 3}, {0, 2, 1}, {1, 1, 1}, {}}).find("corrupt"),
            std::string::npos);
}

TEST(CraftedDataset, DecreasingPointersAndBadIndexesAreRefused) {
  test::TempDir dir;
  EXPECT_NE(load_error(dir, 2, 3, {{0, 3, 2, 3}, {0, 1, 2}, {1, 1, 1}, {}}), "");  // 3 rows
  EXPECT_NE(load_error(dir, 2, 3, {{0, 2, 1}, {0, 2}, {1, 1}, {}}), "");
  EXPECT_NE(load_error(dir, 2, 3, {{0, 2, 3}, {0, 7, 1}, {1, 1, 1}, {}}), "");   // item 7 of 3
  EXPECT_NE(load_error(dir, 2, 3, {{0, 2, 3}, {0, -1, 1}, {1, 1, 1}, {}}), "");  // negative
  EXPECT_NE(load_error(dir, 2, 3, {{0, 2, 3}, {0, 2, 1}, {1, 1}, {}}), "");      // 2 weights
  EXPECT_NE(load_error(dir, 2, 3, {{0, 2, 3}, {0, 2, 1}, {1, 1, 1}, {5}}), "");  // 1 time
}

TEST(CraftedDataset, NonFiniteWeightsAreRefused) {
  test::TempDir dir;
  const float inf = std::numeric_limits<float>::infinity();
  EXPECT_NE(load_error(dir, 2, 3, {{0, 2, 3}, {0, 2, 1}, {1, inf, 1}, {}}).find("finite"),
            std::string::npos);
}

std::shared_ptr<const Dataset> tiny() {
  std::vector<index_t> u, i;
  std::vector<float> v;
  for (index_t a = 0; a < 12; ++a)
    for (index_t k = 0; k < 4; ++k) {
      u.push_back(a);
      i.push_back((a * 3 + k * 5) % 10);
      v.push_back(static_cast<float>(1 + (a + k) % 5));
    }
  auto d = std::make_shared<Dataset>(
      test::make_dataset(CsrMatrix::from_coordinates(12, 10, u, i, v, {}, DedupPolicy::kLast)));
  d->explicit_ratings = true;
  test::add_item_features(*d, 3);
  return d;
}

// A model file holding `model`'s body beside another dataset than the one it was fitted on, in
// format 1 (what reckon wrote before 0.16.0: it must still load).
std::string model_error(const test::TempDir& dir, const TrainedModel& t, const Dataset& other) {
  BinaryWriter w;
  w.put_string(t.model->name());
  w.put_string(t.params.to_json().dump());
  w.put<double>(0.0);
  w.put_string(encode_dataset(other));
  t.model->save(w);
  const auto path = dir / "crafted.rkm";
  write_checked_file(path, "RECKONMD", 1,
                     {static_cast<std::uint64_t>(other.num_users()),
                      static_cast<std::uint64_t>(other.num_items())},
                     w.bytes());
  return test::error_of([&] { load_model_file(path); });
}

class CraftedModel : public ::testing::TestWithParam<std::string> {};

TEST_P(CraftedModel, ArraysThatDisagreeWithTheDataAreRefused) {
  const auto data = tiny();
  FitContext ctx;
  ctx.verbose = false;
  const TrainedModel t = train_model(GetParam(), data, test::quick_params(GetParam()), ctx);
  test::TempDir dir;
  EXPECT_EQ(model_error(dir, t, *data), "") << "the model's own data must load";
  // One item fewer: every model holds something per item (scores, factors, neighbours).
  std::vector<index_t> users(12), items(9);
  for (index_t k = 0; k < 12; ++k) users[k] = k;
  for (index_t k = 0; k < 9; ++k) items[k] = k;
  const Dataset fewer_items = data->select(users, items);
  EXPECT_NE(model_error(dir, t, fewer_items).find("corrupt model"), std::string::npos)
      << GetParam();
  // One item more: a neighbour list or factor matrix too short for the catalogue.
  Dataset more = *data;
  more.items.intern("extra");
  more.interactions = data->interactions.resized(12, 11);
  more.item_features = FeatureTable(11);
  EXPECT_NE(model_error(dir, t, more).find("corrupt model"), std::string::npos) << GetParam();
}

TEST_P(CraftedModel, PerUserStateThatDisagreesIsRefused) {
  const std::string name = GetParam();
  // These hold nothing per user: any user count is theirs.
  if (name == "random" || name == "popular" || name == "itemknn" || name == "ease" ||
      name == "content" || name == "multvae" || name == "dae" || name == "sasrec" ||
      name == "gru4rec")
    return;
  const auto data = tiny();
  FitContext ctx;
  ctx.verbose = false;
  const TrainedModel t = train_model(name, data, test::quick_params(name), ctx);
  std::vector<index_t> users(11), items(10);
  for (index_t k = 0; k < 11; ++k) users[k] = k;
  for (index_t k = 0; k < 10; ++k) items[k] = k;
  test::TempDir dir;
  EXPECT_NE(model_error(dir, t, data->select(users, items)).find("corrupt model"),
            std::string::npos)
      << name;
}

INSTANTIATE_TEST_SUITE_P(AllModels, CraftedModel, ::testing::ValuesIn(test::models_under_test()),
                         [](const auto& info) { return info.param; });

}  // namespace
}  // namespace reckon
