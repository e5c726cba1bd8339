#include "reckon/eval/metrics.hpp"

#include <fmt/format.h>

#include <algorithm>
#include <cmath>

#include "reckon/core/error.hpp"

namespace reckon {

bool Relevant::contains(index_t item) const {
  return std::binary_search(items.begin(), items.end(), item);
}

float Relevant::grade(index_t item) const {
  auto it = std::lower_bound(items.begin(), items.end(), item);
  if (it == items.end() || *it != item) return 0.0f;
  return grades.empty() ? 1.0f : grades[static_cast<std::size_t>(it - items.begin())];
}

namespace {
std::size_t hits(std::span<const index_t> ranked, const Relevant& rel, std::size_t k) {
  std::size_t h = 0;
  for (std::size_t i = 0; i < std::min(k, ranked.size()); ++i) h += rel.contains(ranked[i]);
  return h;
}
double gain(double grade) { return std::exp2(grade) - 1.0; }
}  // namespace

double precision_at(std::span<const index_t> ranked, const Relevant& rel, std::size_t k) {
  // Divides by k even when fewer than k items could be recommended (the usual convention).
  return k == 0 ? 0.0 : static_cast<double>(hits(ranked, rel, k)) / static_cast<double>(k);
}

double recall_at(std::span<const index_t> ranked, const Relevant& rel, std::size_t k) {
  // hits / |relevant| (the LightGCN convention), not hits / min(k, |relevant|).
  return rel.items.empty()
             ? 0.0
             : static_cast<double>(hits(ranked, rel, k)) / static_cast<double>(rel.items.size());
}

double f1_at(std::span<const index_t> ranked, const Relevant& rel, std::size_t k) {
  const double p = precision_at(ranked, rel, k), r = recall_at(ranked, rel, k);
  return p + r > 0 ? 2 * p * r / (p + r) : 0.0;
}

double ndcg_at(std::span<const index_t> ranked, const Relevant& rel, std::size_t k) {
  if (rel.items.empty() || k == 0) return 0.0;
  const bool graded = !rel.grades.empty();
  double dcg = 0;
  for (std::size_t i = 0; i < std::min(k, ranked.size()); ++i) {
    const float g = rel.grade(ranked[i]);
    if (g > 0 || (graded && rel.contains(ranked[i])))
      dcg += (graded ? gain(g) : 1.0) / std::log2(static_cast<double>(i) + 2.0);
  }
  // Ideal ranking: the relevant items (best grades first) in the first min(|rel|, k) places.
  double idcg = 0;
  const std::size_t n = std::min(k, rel.items.size());
  if (graded) {
    std::vector<float> g(rel.grades.begin(), rel.grades.end());
    std::sort(g.begin(), g.end(), std::greater<>());
    for (std::size_t i = 0; i < n; ++i)
      idcg += gain(g[i]) / std::log2(static_cast<double>(i) + 2.0);
  } else {
    for (std::size_t i = 0; i < n; ++i) idcg += 1.0 / std::log2(static_cast<double>(i) + 2.0);
  }
  return idcg > 0 ? dcg / idcg : 0.0;
}

double ap_at(std::span<const index_t> ranked, const Relevant& rel, std::size_t k) {
  if (rel.items.empty() || k == 0) return 0.0;
  double sum = 0;
  std::size_t h = 0;
  for (std::size_t i = 0; i < std::min(k, ranked.size()); ++i) {
    if (!rel.contains(ranked[i])) continue;
    ++h;
    sum += static_cast<double>(h) / static_cast<double>(i + 1);
  }
  return sum / static_cast<double>(std::min(k, rel.items.size()));
}

double reciprocal_rank_at(std::span<const index_t> ranked, const Relevant& rel, std::size_t k) {
  for (std::size_t i = 0; i < std::min(k, ranked.size()); ++i)
    if (rel.contains(ranked[i])) return 1.0 / static_cast<double>(i + 1);
  return 0.0;
}

double hit_at(std::span<const index_t> ranked, const Relevant& rel, std::size_t k) {
  return hits(ranked, rel, k) > 0 ? 1.0 : 0.0;
}

double auc(std::span<const float> pos, std::span<const float> neg) {
  if (pos.empty() || neg.empty()) return 0.0;
  std::vector<float> p(pos.begin(), pos.end());
  std::sort(p.begin(), p.end());
  // For each negative: positives above it count 1, equal ones 1/2.
  double correct = 0;
  for (float s : neg) {
    const auto lo = std::lower_bound(p.begin(), p.end(), s);
    const auto hi = std::upper_bound(lo, p.end(), s);
    correct += static_cast<double>(p.end() - hi) + 0.5 * static_cast<double>(hi - lo);
  }
  return correct / (static_cast<double>(pos.size()) * static_cast<double>(neg.size()));
}

double novelty_at(std::span<const index_t> ranked, std::span<const double> self_information,
                  std::size_t k) {
  const std::size_t n = std::min(k, ranked.size());
  if (n == 0) return 0.0;
  double sum = 0;
  for (std::size_t i = 0; i < n; ++i) sum += self_information[ranked[i]];
  return sum / static_cast<double>(n);
}

double diversity_at(std::span<const index_t> ranked,
                    const std::vector<std::vector<std::int32_t>>& labels, std::size_t k) {
  const std::size_t n = std::min(k, ranked.size());
  if (n < 2) return 0.0;
  double sum = 0;
  for (std::size_t a = 0; a < n; ++a) {
    for (std::size_t b = a + 1; b < n; ++b) {
      const auto& la = labels[ranked[a]];
      const auto& lb = labels[ranked[b]];
      std::size_t inter = 0, i = 0, j = 0;
      while (i < la.size() && j < lb.size()) {
        if (la[i] < lb[j])
          ++i;
        else if (lb[j] < la[i])
          ++j;
        else
          ++inter, ++i, ++j;
      }
      const std::size_t uni = la.size() + lb.size() - inter;
      // Two items without labels are taken as not similar.
      sum += uni == 0 ? 1.0 : 1.0 - static_cast<double>(inter) / static_cast<double>(uni);
    }
  }
  return sum / (static_cast<double>(n) * static_cast<double>(n - 1) / 2.0);
}

std::span<const MetricInfo> registered_metrics() {
  static const std::vector<MetricInfo> metrics = {
      {"precision", MetricKind::kRanking, "hits in the top k / k"},
      {"recall", MetricKind::kRanking, "hits in the top k / number of test items of the user"},
      {"f1", MetricKind::kRanking, "harmonic mean of precision and recall"},
      {"ndcg", MetricKind::kRanking, "DCG / ideal DCG over min(|test|, k); binary or graded"},
      {"map", MetricKind::kRanking, "average precision over min(|test|, k)"},
      {"mrr", MetricKind::kRanking, "1 / rank of the first hit within k"},
      {"hitrate", MetricKind::kRanking, "share of users with at least one hit in the top k"},
      {"coverage", MetricKind::kAggregate, "share of the catalogue recommended to anyone"},
      {"novelty", MetricKind::kAggregate,
       "mean self-information -log2(popularity) of recommended items"},
      {"diversity", MetricKind::kAggregate,
       "intra-list diversity: mean pairwise 1 - Jaccard of item genres/tags"},
      {"coldcoverage", MetricKind::kAggregate,
       "share of cold test users (few training interactions) with at least one hit"},
      {"auc", MetricKind::kScores, "probability a test item outscores a non-test candidate"},
      {"rmse", MetricKind::kRating, "root mean squared error of predicted ratings"},
      {"mae", MetricKind::kRating, "mean absolute error of predicted ratings"},
  };
  return metrics;
}

const MetricInfo& find_metric(std::string_view name) {
  for (const auto& m : registered_metrics())
    if (m.name == name) return m;
  std::string names;
  for (const auto& m : registered_metrics()) names += (names.empty() ? "" : ", ") + m.name;
  throw InvalidInput(fmt::format("unknown metric \"{}\" (known: {})", name, names));
}

std::vector<std::string> default_metrics() {
  return {"recall", "ndcg",     "precision", "map",  "hitrate",
          "mrr",    "coverage", "novelty",   "rmse", "mae"};
}

}  // namespace reckon
