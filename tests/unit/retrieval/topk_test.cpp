#include "reckon/retrieval/topk.hpp"

#include <gtest/gtest.h>

#include <limits>

namespace reckon {
namespace {

TEST(TopK, OrdersByScoreThenIndex) {
  const std::vector<float> s = {0.5f, 0.9f, 0.5f, 0.1f, 0.9f, 0.7f};
  std::vector<ScoredItem> out;
  top_k(s, 4, out);
  ASSERT_EQ(out.size(), 4u);
  EXPECT_EQ(out[0].item, 1);
  EXPECT_EQ(out[1].item, 4);
  EXPECT_EQ(out[2].item, 5);
  EXPECT_EQ(out[3].item, 0);  // tie with item 2: the lower index wins
}

TEST(TopK, SkipsMaskedAndHandlesShortLists) {
  std::vector<float> s = {0.3f, 0.2f, std::numeric_limits<float>::quiet_NaN(), 0.8f};
  const std::vector<col_t> seen = {3};
  mask(s, seen);
  std::vector<ScoredItem> out;
  top_k(s, 10, out);
  ASSERT_EQ(out.size(), 2u);
  EXPECT_EQ(out[0].item, 0);
  EXPECT_EQ(out[1].item, 1);
  top_k(s, 0, out);
  EXPECT_TRUE(out.empty());
}

TEST(TopK, MatchesFullSortOnRandomScores) {
  std::vector<float> s(5000);
  for (std::size_t i = 0; i < s.size(); ++i) s[i] = static_cast<float>((i * 7919) % 1013);
  std::vector<ScoredItem> out;
  top_k(s, 50, out);
  std::vector<ScoredItem> all;
  for (std::size_t i = 0; i < s.size(); ++i) all.push_back({static_cast<index_t>(i), s[i]});
  std::sort(all.begin(), all.end(), [](const ScoredItem& a, const ScoredItem& b) {
    return a.score > b.score || (a.score == b.score && a.item < b.item);
  });
  for (std::size_t i = 0; i < 50; ++i) EXPECT_EQ(out[i].item, all[i].item) << i;
}

}  // namespace
}  // namespace reckon
