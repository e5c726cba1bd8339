#include "reckon/retrieval/inner_product.hpp"

#include <gtest/gtest.h>

#include "reckon/core/random.hpp"
#include "reckon/retrieval/topk.hpp"

namespace reckon {
namespace {

// The tiled search must give exactly what scoring everything and top_k() give: same items, same
// order, ties to the lower index, excluded items skipped, across tile boundaries.
TEST(InnerProduct, MatchesFullScoringAndTopK) {
  const Eigen::Index n = 5000, f = 8, users = 7;
  RowMatrix items(n, f), u(users, f);
  Rng rng(5);
  // Coarse values so that ties happen.
  for (Eigen::Index i = 0; i < items.size(); ++i)
    items.data()[i] = static_cast<float>(rng.below(3));
  for (Eigen::Index i = 0; i < u.size(); ++i) u.data()[i] = static_cast<float>(rng.below(3));
  std::vector<float> bias(static_cast<std::size_t>(n));
  for (auto& b : bias) b = static_cast<float>(rng.below(2));
  std::vector<std::vector<index_t>> excluded(users);
  std::vector<InnerProductQuery> queries(users);
  for (Eigen::Index r = 0; r < users; ++r) {
    for (index_t i = r; i < n; i += 97 + r) excluded[r].push_back(i);
    queries[r].exclude = excluded[r];
    queries[r].offset = static_cast<float>(r);
  }
  std::vector<std::vector<ScoredItem>> got;
  inner_product_top_k(u, items, bias, queries, 50, got);
  for (Eigen::Index r = 0; r < users; ++r) {
    std::vector<float> s(static_cast<std::size_t>(n));
    for (Eigen::Index i = 0; i < n; ++i)
      s[i] = u.row(r).dot(items.row(i)) + bias[i] + static_cast<float>(r);
    mask(s, excluded[r]);
    std::vector<ScoredItem> want;
    top_k(s, 50, want);
    ASSERT_EQ(got[r].size(), want.size());
    for (std::size_t k = 0; k < want.size(); ++k) {
      EXPECT_EQ(got[r][k].item, want[k].item) << "user " << r << " rank " << k;
      EXPECT_FLOAT_EQ(got[r][k].score, want[k].score);
    }
  }
}

}  // namespace
}  // namespace reckon
