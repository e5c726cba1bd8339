#pragma once
// Metrics: pure functions of (ranked list, relevant set), registered by name. Formulas and
// conventions are in docs/EVALUATION.md.
#include <span>
#include <string>
#include <string_view>
#include <vector>

#include "reckon/core/types.hpp"

namespace reckon {

// The relevant (test) items of one user, sorted ascending; grades (same length) are the graded
// relevance (ratings) or empty for binary relevance.
struct Relevant {
  std::span<const col_t> items;
  std::span<const float> grades;
  bool contains(index_t item) const;
  // Grade of `item` (1 when binary), 0 when not relevant.
  float grade(index_t item) const;
};

// `ranked`: recommended items, best first (only the first k are read).
double precision_at(std::span<const index_t> ranked, const Relevant& rel, std::size_t k);
double recall_at(std::span<const index_t> ranked, const Relevant& rel, std::size_t k);
double f1_at(std::span<const index_t> ranked, const Relevant& rel, std::size_t k);
// Binary NDCG when rel.grades is empty, else graded with gain 2^grade - 1.
double ndcg_at(std::span<const index_t> ranked, const Relevant& rel, std::size_t k);
double ap_at(std::span<const index_t> ranked, const Relevant& rel, std::size_t k);
double reciprocal_rank_at(std::span<const index_t> ranked, const Relevant& rel, std::size_t k);
double hit_at(std::span<const index_t> ranked, const Relevant& rel, std::size_t k);
// Probability that a random relevant item scores above a random non-relevant one (ties: 1/2).
double auc(std::span<const float> relevant_scores, std::span<const float> other_scores);
// Mean self-information -log2(p(i)) of the first k items; `popularity[i]` = share of users
// who interacted with item i in training (items never seen count as 1 / number of users).
double novelty_at(std::span<const index_t> ranked, std::span<const double> self_information,
                  std::size_t k);
// Intra-list diversity: mean over pairs of 1 - Jaccard(labels(a), labels(b)) among the first k.
// `labels(i)` are sorted label codes; lists shorter than 2 have diversity 0.
double diversity_at(std::span<const index_t> ranked,
                    const std::vector<std::vector<std::int32_t>>& labels, std::size_t k);

enum class MetricKind {
  kRanking,    // per user at each k, averaged over evaluated users
  kAggregate,  // over all lists at each k (coverage, novelty, diversity, cold coverage)
  kScores,     // needs every candidate's score (auc)
  kRating,     // prediction error on held-out ratings (rmse, mae)
};

struct MetricInfo {
  std::string name;
  MetricKind kind;
  std::string doc;
};
std::span<const MetricInfo> registered_metrics();
const MetricInfo& find_metric(std::string_view name);  // InvalidInput lists the known ones
// The contract's default set.
std::vector<std::string> default_metrics();

}  // namespace reckon
