#include "reckon/core/csr_matrix.hpp"
#include "reckon/core/event_log.hpp"

#include <gtest/gtest.h>

#include <limits>

#include "test_support.hpp"

namespace reckon {
namespace {

using Ids = std::vector<index_t>;

// 3 users x 4 items with a repeated (0, 2) pair at times 5 (value 1) and 9 (value 4).
CsrMatrix sample(DedupPolicy dedup) {
  return CsrMatrix::from_coordinates(3, 4, Ids{0, 2, 0, 1, 0}, Ids{2, 0, 1, 3, 2}, {1, 2, 3, 4, 4},
                                     {5, 6, 7, 8, 9}, dedup);
}

TEST(CsrMatrix, BuildsSortedRowsAndMergesDuplicates) {
  const CsrMatrix m = sample(DedupPolicy::kLast);
  EXPECT_EQ(m.rows(), 3);
  EXPECT_EQ(m.cols(), 4);
  EXPECT_EQ(m.nnz(), 4);
  ASSERT_EQ(m.row_size(0), 2);
  EXPECT_EQ(m.row_indices(0)[0], 1);
  EXPECT_EQ(m.row_indices(0)[1], 2);
  EXPECT_FLOAT_EQ(m.row_values(0)[1], 4.0f);
  EXPECT_EQ(m.row_times(0)[1], 9);
  EXPECT_EQ(m.row_size(1), 1);
  EXPECT_EQ(m.row_indices(2)[0], 0);
}

// Reweighting, dropping times and growing the columns share the structure instead of copying
// it: a weighted copy of a 100M-interaction matrix costs its 4 bytes a value, not 20.
TEST(CsrMatrix, DerivedMatricesShareTheStructure) {
  const CsrMatrix m = sample(DedupPolicy::kLast);
  const CsrMatrix w = m.with_values({9, 8, 7, 6});
  EXPECT_EQ(w.indices().data(), m.indices().data());
  EXPECT_EQ(w.indptr().data(), m.indptr().data());
  EXPECT_EQ(w.times().data(), m.times().data());
  EXPECT_FLOAT_EQ(w.row_values(0)[0], 9.0f);
  EXPECT_FLOAT_EQ(m.row_values(0)[0], 3.0f);  // the original is untouched
  const CsrMatrix plain = m.without_times();
  EXPECT_TRUE(plain.times().empty());
  EXPECT_EQ(plain.indices().data(), m.indices().data());
  EXPECT_FALSE(m.times().empty());
  const CsrMatrix wider = m.resized(3, 10);
  EXPECT_EQ(wider.cols(), 10);
  EXPECT_EQ(wider.indices().data(), m.indices().data());
  // A copy that outlives the original keeps the shared arrays alive.
  CsrMatrix keep;
  {
    const CsrMatrix tmp = sample(DedupPolicy::kLast);
    keep = tmp.with_values({1, 1, 1, 1});
  }
  EXPECT_EQ(keep.row_indices(0)[1], 2);
  // A mismatched or non-finite value array is refused, not shared.
  EXPECT_THROW((void)m.with_values({1, 2}), Error);
  EXPECT_THROW((void)m.with_values({1, 2, 3, std::numeric_limits<float>::quiet_NaN()}), Error);
}

TEST(CsrMatrix, DedupPolicies) {
  EXPECT_FLOAT_EQ(sample(DedupPolicy::kFirst).row_values(0)[1], 1.0f);
  EXPECT_EQ(sample(DedupPolicy::kFirst).row_times(0)[1], 5);
  EXPECT_FLOAT_EQ(sample(DedupPolicy::kSum).row_values(0)[1], 5.0f);
  EXPECT_FLOAT_EQ(sample(DedupPolicy::kMax).row_values(0)[1], 4.0f);
}

TEST(CsrMatrix, LastFollowsTimeNotInputOrder) {
  // The later event comes first in the input; "last" must still keep it.
  const CsrMatrix m =
      CsrMatrix::from_coordinates(1, 1, Ids{0, 0}, Ids{0, 0}, {7, 3}, {20, 10}, DedupPolicy::kLast);
  EXPECT_FLOAT_EQ(m.row_values(0)[0], 7.0f);
}

// Columns are stored in 32 bits: a matrix (or an event log) of more columns than they can index
// is refused by name, however it is made, instead of wrapping its indexes around.
TEST(CsrMatrix, MoreColumnsThan32BitsIndexAreRefused) {
  const index_t too_many = kMaxMatrixColumns + 1;
  EXPECT_NE(test::error_of([&] { CsrMatrix(1, too_many, {0, 0}, {}, {}); }).find("at most"),
            std::string::npos);
  EXPECT_NE(test::error_of([&] {
              CsrMatrix::from_coordinates(1, too_many, Ids{0}, Ids{too_many - 1}, {1.0f}, {},
                                          DedupPolicy::kLast);
            }).find("at most"),
            std::string::npos);
  EXPECT_NE(test::error_of([&] { CsrMatrix::unchecked(1, too_many, {0, 0}, {}, {}); }), "");
  EXPECT_NE(test::error_of([&] {
              EventLog(1, too_many, {0, 0}, {}, {}, {}, DedupPolicy::kLast);
            }).find("at most"),
            std::string::npos);
  // The largest count that fits is a matrix like any other.
  const CsrMatrix widest(1, kMaxMatrixColumns, {0, 1},
                         {static_cast<col_t>(kMaxMatrixColumns - 1)}, {1.0f});
  EXPECT_EQ(widest.row_indices(0)[0], kMaxMatrixColumns - 1);
}

TEST(CsrMatrix, TransposeTwiceIsIdentity) {
  const CsrMatrix m = sample(DedupPolicy::kLast);
  const CsrMatrix t = m.transposed();
  EXPECT_EQ(t.rows(), 4);
  EXPECT_EQ(t.cols(), 3);
  EXPECT_EQ(t.row_size(2), 1);
  EXPECT_EQ(t.row_times(2)[0], 9);
  EXPECT_EQ(t.transposed(), m);
}

TEST(CsrMatrix, SelectRemapsRowsAndColumns) {
  const CsrMatrix m = sample(DedupPolicy::kLast);
  const std::vector<index_t> rows = {2, 0}, cols = {2, 0};
  const CsrMatrix s = m.select(rows, cols);
  EXPECT_EQ(s.rows(), 2);
  EXPECT_EQ(s.cols(), 2);
  ASSERT_EQ(s.row_size(0), 1);  // old user 2 had item 0 -> new col 1
  EXPECT_EQ(s.row_indices(0)[0], 1);
  ASSERT_EQ(s.row_size(1), 1);  // old user 0 keeps item 2 only -> new col 0
  EXPECT_EQ(s.row_indices(1)[0], 0);
}

TEST(CsrMatrix, RefusesBadStructure) {
  EXPECT_NE(test::error_of([] { CsrMatrix(1, 2, {0, 2}, {1, 0}, {1, 1}); }), "");
  EXPECT_NE(test::error_of([] { CsrMatrix(1, 2, {0, 1}, {5}, {1}); }), "");
  EXPECT_NE(test::error_of([] { CsrMatrix(2, 2, {0, 1}, {0}, {1}); }), "");
  EXPECT_NE(test::error_of([] { CsrMatrix(1, 2, {0, 1}, {0}, {1}, {1, 2}); }), "");
  EXPECT_NE(test::error_of([] {
              CsrMatrix::from_coordinates(1, 1, Ids{0}, Ids{3}, {1}, {}, DedupPolicy::kLast);
            }),
            "");
}

TEST(CsrMatrix, FilteredKeepsMarkedEntries) {
  const CsrMatrix m = sample(DedupPolicy::kLast);
  const CsrMatrix f = m.filtered({true, false, false, true});
  EXPECT_EQ(f.nnz(), 2);
  EXPECT_EQ(f.row_indices(0)[0], 1);
  EXPECT_EQ(f.row_size(1), 0);
  EXPECT_EQ(f.row_size(2), 1);
}

}  // namespace
}  // namespace reckon
