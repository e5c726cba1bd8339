#include "reckon/retrieval/inner_product.hpp"

#include <gtest/gtest.h>

#include <cmath>

#include "reckon/core/random.hpp"
#include "reckon/retrieval/topk.hpp"

namespace reckon {
namespace {

// What the search must give: score everything, mask, top_k().
std::vector<ScoredItem> brute_force(const RowMatrix& u, Eigen::Index r, const RowMatrix& items,
                                    const std::vector<float>& bias,
                                    const std::vector<col_t>& excluded, float offset,
                                    std::size_t k) {
  const Eigen::Index n = items.rows();
  std::vector<float> s(static_cast<std::size_t>(n));
  for (Eigen::Index i = 0; i < n; ++i)
    s[i] = u.row(r).dot(items.row(i)) + (bias.empty() ? 0.0f : bias[i]) + offset;
  mask(s, excluded);
  std::vector<ScoredItem> want;
  top_k(s, k, want);
  return want;
}

struct Case {
  RowMatrix items, users;
  std::vector<float> bias;
  std::vector<std::vector<col_t>> excluded;
  std::vector<InnerProductQuery> queries;
};

// Coarse values make ties (in scores and in norms); Gaussian ones with a few long item vectors
// look like a factor model's popular items, so that the pruned search stops early.
Case make_case(bool coarse, bool with_bias) {
  const Eigen::Index n = 5000, f = 8, users = 7;
  Case c;
  c.items.resize(n, f);
  c.users.resize(users, f);
  Rng rng(5);
  auto value = [&] {
    if (coarse) return static_cast<float>(rng.below(3));
    return static_cast<float>(rng.normal());
  };
  for (Eigen::Index i = 0; i < c.items.size(); ++i) c.items.data()[i] = value();
  if (!coarse)
    for (Eigen::Index i = 0; i < n; ++i) c.items.row(i) *= i % 50 == 0 ? 3.0f : 0.3f;
  for (Eigen::Index i = 0; i < c.users.size(); ++i) c.users.data()[i] = value();
  if (with_bias) {
    c.bias.resize(static_cast<std::size_t>(n));
    for (auto& b : c.bias) b = coarse ? static_cast<float>(rng.below(2)) : 0.1f * value();
  }
  c.excluded.resize(users);
  c.queries.resize(users);
  for (Eigen::Index r = 0; r < users; ++r) {
    for (index_t i = r; i < n; i += 97 + r) c.excluded[r].push_back(i);
    c.queries[r].exclude = c.excluded[r];
    c.queries[r].offset = static_cast<float>(r);
  }
  return c;
}

// With integer values (`exact`) the arithmetic is exact: same items, same order, same scores.
// Otherwise the products round differently in tiles of different shapes, so near-ties may swap:
// each rank's score to within rounding, and the same set of items.
void expect_same(const std::vector<std::vector<ScoredItem>>& got, const Case& c, std::size_t k,
                 bool exact) {
  ASSERT_EQ(got.size(), static_cast<std::size_t>(c.users.rows()));
  for (Eigen::Index r = 0; r < c.users.rows(); ++r) {
    const auto want =
        brute_force(c.users, r, c.items, c.bias, c.excluded[r], c.queries[r].offset, k);
    ASSERT_EQ(got[r].size(), want.size());
    std::vector<index_t> got_items, want_items;
    for (std::size_t i = 0; i < want.size(); ++i) {
      if (exact) {
        EXPECT_EQ(got[r][i].item, want[i].item) << "user " << r << " rank " << i;
        EXPECT_EQ(got[r][i].score, want[i].score);
      } else {
        EXPECT_NEAR(got[r][i].score, want[i].score, 1e-5 * (1 + std::abs(want[i].score)));
      }
      got_items.push_back(got[r][i].item);
      want_items.push_back(want[i].item);
    }
    std::sort(got_items.begin(), got_items.end());
    std::sort(want_items.begin(), want_items.end());
    EXPECT_EQ(got_items, want_items) << "user " << r;
  }
}

// The tiled search must give exactly what scoring everything and top_k() give: same items, same
// order, ties to the lower index, excluded items skipped, across tile boundaries.
TEST(InnerProduct, MatchesFullScoringAndTopK) {
  for (const bool coarse : {true, false}) {
    const Case c = make_case(coarse, true);
    std::vector<std::vector<ScoredItem>> got;
    inner_product_top_k(c.users, c.items, c.bias, c.queries, 50, got);
    expect_same(got, c, 50, coarse);
  }
}

// The index visits items by decreasing norm and stops early: still exactly the same lists, with
// and without biases, for short and long lists (k above the catalogue too).
TEST(InnerProduct, PrunedIndexMatchesFullScoring) {
  for (const bool coarse : {true, false}) {
    for (const bool with_bias : {false, true}) {
      const Case c = make_case(coarse, with_bias);
      const InnerProductIndex index(c.items, c.bias);
      for (const std::size_t k : {1, 10, 50, 6000}) {
        std::vector<std::vector<ScoredItem>> got;
        index.top_k(c.users, c.queries, k, got);
        SCOPED_TRACE(testing::Message()
                     << "coarse " << coarse << " bias " << with_bias << " k " << k);
        expect_same(got, c, k, coarse);
      }
    }
  }
}

// A diverged model (NaN factors) must not break the ordering of the index: its NaN items never
// enter a list, in either search.
TEST(InnerProduct, NanRowsAreLeftOut) {
  RowMatrix items(4, 2), users(1, 2);
  const float nan = std::numeric_limits<float>::quiet_NaN();
  items << 1, 0, nan, 0, 0.5f, 0, 0.25f, nan;
  users << 1, 0;
  const std::vector<InnerProductQuery> queries(1);
  std::vector<std::vector<ScoredItem>> tiled, pruned;
  inner_product_top_k(users, items, {}, queries, 4, tiled);
  InnerProductIndex(items, {}).top_k(users, queries, 4, pruned);
  for (const auto* got : {&tiled, &pruned}) {
    ASSERT_EQ((*got)[0].size(), 2u);
    EXPECT_EQ((*got)[0][0].item, 0);
    EXPECT_EQ((*got)[0][1].item, 2);
  }
}

}  // namespace
}  // namespace reckon
