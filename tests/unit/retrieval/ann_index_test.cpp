#include "reckon/retrieval/ann_index.hpp"

#include <gtest/gtest.h>

#include <algorithm>
#include <cmath>
#include <limits>
#include <set>

#include "reckon/core/error.hpp"
#include "reckon/core/random.hpp"
#include "reckon/models/factor_model.hpp"
#include "reckon/models/user_context.hpp"
#include "reckon/retrieval/inner_product.hpp"
#include "test_support.hpp"

namespace reckon {
namespace {

float gaussian(Rng& rng) { return static_cast<float>(rng.normal()); }

// Items in `clusters` groups around random centres, with norms that vary like a factor model's
// (a few long, popular ones); users near the centres.
struct Catalogue {
  RowMatrix items, users;
  std::vector<float> bias;
};

Catalogue clustered(Eigen::Index n, Eigen::Index users, int clusters, bool with_bias,
                    std::uint64_t seed) {
  const Eigen::Index f = 16;
  Rng rng(seed);
  RowMatrix centres(clusters, f);
  for (Eigen::Index i = 0; i < centres.size(); ++i) centres.data()[i] = gaussian(rng);
  Catalogue c;
  c.items.resize(n, f);
  for (Eigen::Index i = 0; i < n; ++i) {
    const auto g = static_cast<Eigen::Index>(rng.below(static_cast<std::uint64_t>(clusters)));
    for (Eigen::Index d = 0; d < f; ++d) c.items(i, d) = centres(g, d) + 0.4f * gaussian(rng);
    c.items.row(i) *= i % 40 == 0 ? 2.0f : 0.5f;
  }
  c.users.resize(users, f);
  for (Eigen::Index u = 0; u < users; ++u) {
    const auto g = static_cast<Eigen::Index>(rng.below(static_cast<std::uint64_t>(clusters)));
    for (Eigen::Index d = 0; d < f; ++d) c.users(u, d) = centres(g, d) + 0.3f * gaussian(rng);
  }
  if (with_bias) {
    c.bias.resize(static_cast<std::size_t>(n));
    for (auto& b : c.bias) b = 0.2f * gaussian(rng);
  }
  return c;
}

std::vector<InnerProductQuery> no_exclusions(Eigen::Index users) {
  return std::vector<InnerProductQuery>(static_cast<std::size_t>(users));
}

TEST(AnnIndex, ScanningEveryListGivesTheExactLists) {
  if (!ann_available()) GTEST_SKIP() << "built without FAISS";
  for (const bool with_bias : {false, true}) {
    const Catalogue c = clustered(3000, 20, 12, with_bias, 7);
    std::vector<std::vector<col_t>> excluded(20);
    auto queries = no_exclusions(20);
    for (std::size_t u = 0; u < excluded.size(); ++u) {
      for (index_t i = static_cast<index_t>(u); i < 3000; i += 13) excluded[u].push_back(i);
      queries[u].exclude = excluded[u];
      queries[u].offset = 0.5f * static_cast<float>(u);
    }
    AnnOptions o;
    o.mode = AnnMode::kOn;
    o.nlist = 30;
    o.nprobe = 30;  // every list: exhaustive
    const AnnIndex ann(c.items, c.bias, o);
    std::vector<std::vector<ScoredItem>> got, want;
    ann.top_k(c.users, queries, 25, got);
    inner_product_top_k(c.users, c.items, c.bias, queries, 25, want);
    ASSERT_EQ(got.size(), want.size());
    for (std::size_t u = 0; u < got.size(); ++u) {
      ASSERT_EQ(got[u].size(), 25u);
      for (std::size_t r = 0; r < 25; ++r) {
        EXPECT_EQ(got[u][r].item, want[u][r].item) << "user " << u << " rank " << r;
        EXPECT_NEAR(got[u][r].score, want[u][r].score, 1e-4f);
      }
    }
  }
}

TEST(AnnIndex, FindsMostOfTheExactListWithTheDefaultProbes) {
  if (!ann_available()) GTEST_SKIP() << "built without FAISS";
  const Catalogue c = clustered(40000, 200, 64, true, 11);
  AnnOptions o;
  o.mode = AnnMode::kOn;
  const AnnIndex ann(c.items, c.bias, o);
  EXPECT_EQ(ann.nlist(), 400);  // 2 sqrt(40,000)
  EXPECT_EQ(ann.nprobe(), 16);  // 400 / 32, at least 16
  EXPECT_NE(ann.describe().find("400 lists, 16 probed"), std::string::npos) << ann.describe();
  const auto queries = no_exclusions(200);
  std::vector<std::vector<ScoredItem>> got, want;
  ann.top_k(c.users, queries, 20, got);
  inner_product_top_k(c.users, c.items, c.bias, queries, 20, want);
  double found = 0;
  for (std::size_t u = 0; u < got.size(); ++u) {
    std::set<index_t> exact;
    for (const auto& s : want[u]) exact.insert(s.item);
    for (const auto& s : got[u]) found += exact.count(s.item);
    // Best first, with the model's own scores.
    for (std::size_t r = 1; r < got[u].size(); ++r)
      EXPECT_GE(got[u][r - 1].score, got[u][r].score);
  }
  const double recall = found / (20.0 * 200);
  EXPECT_GT(recall, 0.9) << recall;
  EXPECT_LT(recall, 1.0 + 1e-9);
}

TEST(AnnIndex, NeverReturnsAnExcludedOrNonFiniteItemAndStopsShortOfTheCatalogue) {
  if (!ann_available()) GTEST_SKIP() << "built without FAISS";
  Catalogue c = clustered(500, 3, 5, false, 3);
  c.items(7, 2) = std::numeric_limits<float>::quiet_NaN();
  c.items(8, 0) = std::numeric_limits<float>::infinity();
  std::vector<col_t> everything_but_three;
  for (index_t i = 0; i < 500; ++i)
    if (i != 4 && i != 7 && i != 100 && i != 499) everything_but_three.push_back(i);
  auto queries = no_exclusions(3);
  queries[1].exclude = everything_but_three;
  AnnOptions o;
  o.mode = AnnMode::kOn;
  o.nlist = 5;
  o.nprobe = 5;
  const AnnIndex ann(c.items, {}, o);
  std::vector<std::vector<ScoredItem>> got;
  ann.top_k(c.users, queries, 1000, got);
  EXPECT_EQ(got[0].size(), 498u);  // the catalogue less the two non-finite items
  std::set<index_t> left;
  for (const auto& s : got[1]) left.insert(s.item);
  EXPECT_EQ(left, (std::set<index_t>{4, 100, 499}));  // 7 is non-finite
  for (const auto& list : got)
    for (const auto& s : list) {
      EXPECT_NE(s.item, 7);
      EXPECT_NE(s.item, 8);
      EXPECT_TRUE(std::isfinite(s.score));
    }
}

TEST(AnnIndex, ModesAndThresholds) {
  EXPECT_EQ(parse_ann_mode("off"), AnnMode::kOff);
  EXPECT_EQ(parse_ann_mode("auto"), AnnMode::kAuto);
  EXPECT_EQ(parse_ann_mode("on"), AnnMode::kOn);
  EXPECT_THROW(parse_ann_mode("fast"), Error);
  AnnOptions o;
  EXPECT_FALSE(ann_applies(o, 10'000'000));  // off by default: exact lists
  o.mode = AnnMode::kAuto;
  o.min_items = 1000;
  EXPECT_FALSE(ann_applies(o, 999));
  EXPECT_EQ(ann_applies(o, 1000), ann_available());  // auto without FAISS: exact
  o.mode = AnnMode::kOn;
  if (ann_available())
    EXPECT_TRUE(ann_applies(o, 5));
  else
    EXPECT_THROW(ann_applies(o, 5), Error);
  EXPECT_EQ(AnnIndex::default_nlist(1'000'000), 2000);
  EXPECT_EQ(AnnIndex::default_nlist(100), 2);  // at least 39 items a list
  EXPECT_EQ(AnnIndex::default_nlist(1), 1);
  EXPECT_EQ(AnnIndex::default_nprobe(2000), 62);
  EXPECT_EQ(AnnIndex::default_nprobe(20), 16);
  EXPECT_EQ(AnnIndex::default_nprobe(2), 2);
}

// A trained factor model behind set_ann: its lists, its similar items, what it says it does.
TEST(AnnIndex, AFactorModelSearchesWithItAndSaysSo) {
  if (!ann_available()) GTEST_SKIP() << "built without FAISS";
  // 300 users in 10 taste groups over 2,000 items (200 a group), 30 items each.
  Rng rng(21);
  std::vector<index_t> u, i;
  for (index_t a = 0; a < 300; ++a)
    for (int k = 0; k < 30; ++k) {
      u.push_back(a);
      i.push_back((a % 10) * 200 + static_cast<index_t>(rng.below(200)));
    }
  auto data = std::make_shared<const Dataset>(test::make_dataset(CsrMatrix::from_coordinates(
      300, 2000, u, i, std::vector<float>(u.size(), 1.0f), {}, DedupPolicy::kLast)));
  FitContext ctx;
  ctx.threads = 2;
  TrainedModel t = train_model("ials", data, {{"factors", "16"}, {"iterations", "5"}}, ctx);
  auto* model = dynamic_cast<FactorModel*>(t.model.get());
  ASSERT_NE(model, nullptr);
  EXPECT_EQ(model->retrieval(), "exact");

  std::vector<UserContext> users;
  for (index_t a = 0; a < 300; a += 7) users.push_back(training_context(*data, a, false));
  const std::vector<index_t> items = {0, 5, 777, 1999};
  std::vector<std::vector<ScoredItem>> exact, exact_similar, got, got_similar;
  ASSERT_TRUE(model->top_k_batch(users, 10, exact));
  model->similar_items_batch(items, 10, exact_similar);

  AnnOptions o;
  o.mode = AnnMode::kAuto;
  o.min_items = 2001;  // above the catalogue: still exact
  EXPECT_EQ(*use_ann(*t.model, o), "exact");
  o.min_items = 2000;
  o.nlist = 20;
  o.nprobe = 20;  // every list: the exact answers
  const auto how = use_ann(*t.model, o);
  ASSERT_TRUE(how.has_value());
  EXPECT_NE(how->find("20 lists, 20 probed"), std::string::npos) << *how;
  ASSERT_TRUE(model->top_k_batch(users, 10, got));
  model->similar_items_batch(items, 10, got_similar);
  // Every list probed gives the exact lists: the same items, each place's score the same. Two
  // items whose scores tie to float rounding may swap places (FAISS sums in another order).
  for (std::size_t a = 0; a < users.size(); ++a) {
    std::vector<index_t> want, have;
    for (std::size_t r = 0; r < 10; ++r) {
      EXPECT_NEAR(got[a][r].score, exact[a][r].score, 1e-4f);
      want.push_back(exact[a][r].item);
      have.push_back(got[a][r].item);
    }
    std::sort(want.begin(), want.end());
    std::sort(have.begin(), have.end());
    EXPECT_EQ(have, want) << "user " << a;
  }
  for (std::size_t b = 0; b < items.size(); ++b) {
    const auto one = model->similar_items(items[b], 10);
    for (std::size_t r = 0; r < 10; ++r) {
      EXPECT_EQ(got_similar[b][r].item, exact_similar[b][r].item);
      EXPECT_NEAR(got_similar[b][r].score, exact_similar[b][r].score, 1e-4f);
      EXPECT_EQ(one[r].item, exact_similar[b][r].item);
    }
  }
  // A model that is not a factor model searches its own way.
  TrainedModel pop = train_model("popular", data, {}, ctx);
  EXPECT_FALSE(use_ann(*pop.model, o).has_value());
}

}  // namespace
}  // namespace reckon
