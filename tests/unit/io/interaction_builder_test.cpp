// The import's external merge sort: rows spilled to disk in sorted runs and merged back must make
// the matrix that the rows held in memory make, duplicates folded in the same order.
#include "reckon/io/interaction_builder.hpp"

#include <gtest/gtest.h>

#include <cstdlib>
#include <fstream>

#include "reckon/core/random.hpp"
#include "reckon/io/dataset_file.hpp"
#include "reckon/io/import.hpp"
#include "reckon/core/files.hpp"
#include "test_support.hpp"

namespace reckon {
namespace {

struct Row {
  int user, item;
  float value;
  std::int64_t time;
};

// Many duplicates (a small grid), equal times among them, values whose sums depend on order.
std::vector<Row> rows_with_duplicates(bool timed, std::uint64_t seed) {
  Rng rng(seed);
  std::vector<Row> rows;
  for (int k = 0; k < 3000; ++k)
    rows.push_back({static_cast<int>(rng.below(40)), static_cast<int>(rng.below(30)),
                    static_cast<float>(rng.uniform()) * 3.1f,
                    timed ? static_cast<std::int64_t>(rng.below(21)) : kNoTime});
  return rows;
}

Dataset build(const std::vector<Row>& rows, std::size_t spill_rows, DedupPolicy dedup) {
  InteractionBuilder b(0, spill_rows);
  for (const Row& r : rows)
    b.add(b.user("u" + std::to_string(r.user)), b.item("i" + std::to_string(r.item)), r.value,
          r.time);
  EXPECT_EQ(b.size(), rows.size());
  // Every full chunk was written out; the rest stays until build().
  EXPECT_EQ(b.spilled_rows(), spill_rows ? rows.size() / spill_rows * spill_rows : 0);
  return b.build(dedup, "d", true);
}

TEST(InteractionBuilder, SpilledRunsMergeIntoTheSameMatrix) {
  for (const bool timed : {false, true}) {
    const auto rows = rows_with_duplicates(timed, timed ? 7 : 8);
    for (const DedupPolicy dedup :
         {DedupPolicy::kLast, DedupPolicy::kFirst, DedupPolicy::kSum, DedupPolicy::kMax}) {
      const Dataset held = build(rows, 0, dedup);
      ASSERT_LT(held.num_interactions(), 1200);  // the grid has 1,200 cells: duplicates merged
      ASSERT_EQ(held.interactions.times().empty(), !timed);
      // 97 rows a run: 31 runs, the last one short; one run holding everything; a run a row.
      for (const std::size_t spill : {std::size_t{97}, std::size_t{2999}, std::size_t{1}}) {
        const Dataset spilled = build(rows, spill, dedup);
        EXPECT_EQ(spilled.interactions, held.interactions)
            << "timed " << timed << " dedup " << static_cast<int>(dedup) << " spill " << spill;
        EXPECT_EQ(spilled.users.ids(), held.users.ids());
        EXPECT_EQ(spilled.items.ids(), held.items.ids());
      }
    }
  }
}

// More than 65,536 users: the runs' radix sort takes both halves of the user index.
TEST(InteractionBuilder, RunsOfManyUsersMergeIntoTheSameMatrix) {
  Rng rng(11);
  std::vector<Row> rows;
  for (int k = 0; k < 80000; ++k) rows.push_back({k, static_cast<int>(rng.below(50)), 1, kNoTime});
  for (int k = 0; k < 120000; ++k)
    rows.push_back({static_cast<int>(rng.below(80000)), static_cast<int>(rng.below(50)),
                    static_cast<float>(rng.uniform()), static_cast<std::int64_t>(rng.below(5))});
  for (Row& r : rows) r.time = r.time == kNoTime ? 0 : r.time;
  rng.shuffle(std::span<Row>(rows));
  const Dataset held = build(rows, 0, DedupPolicy::kSum);
  ASSERT_GT(held.num_users(), 65536);
  EXPECT_EQ(build(rows, 7001, DedupPolicy::kSum).interactions, held.interactions);
}

// A source whose timestamps start after some rows were written out is refused as it is when
// everything is held.
TEST(InteractionBuilder, TimesOnSomeRowsAreRefusedAcrossRuns) {
  InteractionBuilder b(0, 10);
  for (int k = 0; k < 25; ++k) b.add(b.user("u"), b.item("i" + std::to_string(k)), 1);
  for (int k = 0; k < 25; ++k) b.add(b.user("v"), b.item("i" + std::to_string(k)), 1, 100 + k);
  EXPECT_NE(test::error_of([&] { b.build(DedupPolicy::kLast, "d", false); })
                .find("25 of 50 interactions have a timestamp"),
            std::string::npos);
}

// No usable temporary directory: a clear error that names TMPDIR, not a crash or an internal
// error.
TEST(InteractionBuilder, MissingTemporaryDirectoryIsNamed) {
  const char* old = std::getenv("TMPDIR");
  const std::string saved = old ? old : "";
  ::setenv("TMPDIR", "/nonexistent/reckon-tmp", 1);
  InteractionBuilder b(0, 4);
  const std::string error = test::error_of([&] {
    for (int k = 0; k < 10; ++k) b.add(b.user("u"), b.item(std::to_string(k)), 1);
  });
  if (old)
    ::setenv("TMPDIR", saved.c_str(), 1);
  else
    ::unsetenv("TMPDIR");
  EXPECT_NE(error.find("set TMPDIR"), std::string::npos) << error;
}

// The whole import path: a CSV imported with tiny runs saves the same .rkd, byte for byte.
TEST(InteractionBuilder, ImportWithRunsSavesTheSameFile) {
  test::TempDir dir;
  std::string csv = "user,item,rating,timestamp\n";
  for (const Row& r : rows_with_duplicates(true, 9))
    csv += "u" + std::to_string(r.user) + ",i" + std::to_string(r.item) + "," +
           std::to_string(r.value) + "," + std::to_string(1600000000 + r.time) + "\n";
  const auto source = dir.file("r.csv", csv);
  ImportOptions o;
  o.spill_rows = 0;
  save_dataset(import_dataset(source, o), dir / "held.rkd");
  o.spill_rows = 13;
  save_dataset(import_dataset(source, o), dir / "spilled.rkd");
  EXPECT_EQ(read_file(dir / "spilled.rkd"), read_file(dir / "held.rkd"));
}

}  // namespace
}  // namespace reckon
