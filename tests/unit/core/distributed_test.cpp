// The single-process side of distributed training: how rows are shared out, and that a plain
// run has no communicator. (Two ranks against one process: tests/mpi, under mpiexec.)
#include "reckon/core/distributed.hpp"

#include <gtest/gtest.h>

#include "reckon/core/error.hpp"

namespace reckon {
namespace {

TEST(Distributed, SharesAreContiguousAndBalancedByInteractions) {
  // Row sizes 10, 0, 0, 10, 1, 1, 1, 1 (+1 each: costs 11, 1, 1, 11, 2, 2, 2, 2; total 32).
  const std::vector<index_t> indptr = {0, 10, 10, 10, 20, 21, 22, 23, 24};
  EXPECT_EQ(balanced_shares(indptr, 1), (std::vector<std::int64_t>{0, 8}));
  // Half the cost (16) is reached at row 3 (cost before it 13) -> row 4 (24).
  EXPECT_EQ(balanced_shares(indptr, 2), (std::vector<std::int64_t>{0, 4, 8}));
  const auto four = balanced_shares(indptr, 4);
  ASSERT_EQ(four.size(), 5u);
  EXPECT_EQ(four.front(), 0);
  EXPECT_EQ(four.back(), 8);
  for (std::size_t r = 1; r < four.size(); ++r) EXPECT_LE(four[r - 1], four[r]);
  // More ranks than rows: some shares are empty, every row is still covered once.
  const auto many = balanced_shares(std::vector<index_t>{0, 5, 6}, 5);
  EXPECT_EQ(many.front(), 0);
  EXPECT_EQ(many.back(), 2);
  // No rows at all.
  EXPECT_EQ(balanced_shares(std::vector<index_t>{0}, 3), (std::vector<std::int64_t>{0, 0, 0, 0}));
  EXPECT_THROW(balanced_shares(indptr, 0), Error);
}

TEST(Distributed, APlainRunHasNoCommunicator) {
  EXPECT_EQ(distributed(), nullptr);
  if (!mpi_available()) {
    EXPECT_THROW(mpi_world(), Error);
  }
}

}  // namespace
}  // namespace reckon
