#include "reckon/core/csr_matrix.hpp"

#include <gtest/gtest.h>

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
