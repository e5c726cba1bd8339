#include "reckon/io/synth.hpp"

#include <fmt/format.h>

#include <algorithm>
#include <cmath>
#include <iterator>
#include <numeric>
#include <vector>

#include "reckon/core/error.hpp"
#include "reckon/core/random.hpp"

namespace reckon {
namespace {

// A bounded power law over ranks 0..n-1: P(r) ~ (r + 1)^-a, by inverting the continuous law's
// distribution function (one draw, no table: n may be in the billions).
class PowerLaw {
 public:
  PowerLaw(std::int64_t n, double a) : n_(n), a_(a) {
    if (std::abs(1.0 - a_) < 1e-9)
      log_n_ = std::log(static_cast<double>(n_) + 1.0);
    else
      top_ = std::pow(static_cast<double>(n_) + 1.0, 1.0 - a_) - 1.0;
  }
  std::int64_t operator()(Rng& rng) const {
    const double u = rng.uniform();
    double x;  // in [1, n + 1)
    if (a_ == 0.0)
      x = 1.0 + u * static_cast<double>(n_);
    else if (std::abs(1.0 - a_) < 1e-9)
      x = std::exp(u * log_n_);
    else
      x = std::pow(1.0 + u * top_, 1.0 / (1.0 - a_));
    const auto r = static_cast<std::int64_t>(x) - 1;
    return std::clamp<std::int64_t>(r, 0, n_ - 1);
  }

 private:
  std::int64_t n_;
  double a_, top_ = 0, log_n_ = 0;
};

// Ranks are scattered over the ids (a hit is not always item 0), the same way every run: an
// affine map modulo n with a multiplier coprime to n.
class Scatter {
 public:
  explicit Scatter(std::int64_t n) : n_(n), m_(2'654'435'761 % n) {
    if (m_ == 0) m_ = 1;
    while (std::gcd(m_, n_) != 1) ++m_;
  }
  std::int64_t operator()(std::int64_t rank) const {
    __extension__ using wide = __int128;  // rank * m_ needs 128 bits (GCC and clang have it)
    return static_cast<std::int64_t>((static_cast<wide>(rank) * m_ + 12345) % n_);
  }

 private:
  std::int64_t n_, m_;
};

constexpr std::int64_t kEpoch = 1'577'836'800;  // 2020-01-01T00:00:00Z

}  // namespace

void check_synth_options(const SynthOptions& o) {
  constexpr std::int64_t kMaxIds = std::int64_t{1} << 31;
  RECKON_CHECK(o.users >= 1 && o.users <= kMaxIds, "synth: --users must be 1 to 2^31, got {}",
               o.users);
  RECKON_CHECK(o.items >= 1 && o.items <= kMaxIds, "synth: --items must be 1 to 2^31, got {}",
               o.items);
  RECKON_CHECK(o.interactions >= 1 && o.interactions <= (std::int64_t{1} << 40),
               "synth: --interactions must be 1 to 2^40, got {}", o.interactions);
  RECKON_CHECK(o.user_exponent >= 0 && o.user_exponent <= 3 && o.item_exponent >= 0 &&
                   o.item_exponent <= 3,
               "synth: the exponents are from 0 (uniform) to 3");
  RECKON_CHECK(o.clusters >= 1 && o.clusters <= std::min<std::int64_t>(o.items, 1 << 20),
               "synth: --clusters must be 1 to the number of items (at most 2^20), got {}",
               o.clusters);
  RECKON_CHECK(o.affinity >= 0 && o.affinity <= 1, "synth: --affinity is from 0 to 1, got {}",
               o.affinity);
  RECKON_CHECK(o.days >= 1 && o.days <= 100'000, "synth: --days must be 1 to 100000, got {}",
               o.days);
}

void generate_interactions(const SynthOptions& o, const std::function<void(std::string_view)>& write,
                           const std::function<void(std::int64_t)>& progress) {
  check_synth_options(o);
  Rng rng(o.seed);
  const PowerLaw user_rank(o.users, o.user_exponent), item_rank(o.items, o.item_exponent);
  // Within a cluster, items c, c + C, c + 2C, ... ranked by the same law.
  const std::int64_t per_cluster = (o.items + o.clusters - 1) / o.clusters;
  const PowerLaw cluster_rank(per_cluster, o.item_exponent);
  const Scatter scatter_users(o.users), scatter_items(o.items);
  // Cluster c has the items c, c + C, ...: per_cluster or one fewer of them.
  std::vector<std::int64_t> in_cluster(static_cast<std::size_t>(o.clusters));
  std::vector<Scatter> scatter_cluster;
  for (std::int64_t c = 0; c < o.clusters; ++c) {
    in_cluster[static_cast<std::size_t>(c)] = (o.items - c + o.clusters - 1) / o.clusters;
    scatter_cluster.emplace_back(in_cluster[static_cast<std::size_t>(c)]);
  }
  std::string out;
  out.reserve(1 << 20);
  out += o.separator == ',' ? "user_id,item_id" : fmt::format("user_id{}item_id", o.separator);
  if (o.ratings) out += fmt::format("{}rating", o.separator);
  if (o.times) out += fmt::format("{}timestamp", o.separator);
  out += '\n';
  const double span = static_cast<double>(o.days) * 86'400.0;
  for (std::int64_t row = 0; row < o.interactions; ++row) {
    const std::int64_t user = scatter_users(user_rank(rng));
    const std::int64_t cluster = user % o.clusters;
    std::int64_t item = -1;
    const bool own = rng.uniform() < o.affinity;
    if (own) {
      const auto c = static_cast<std::size_t>(cluster);
      const std::int64_t k = cluster_rank(rng) % in_cluster[c];
      item = cluster + o.clusters * scatter_cluster[c](k);
    } else {
      item = scatter_items(item_rank(rng));
    }
    fmt::format_to(std::back_inserter(out), "u{}{}i{}", user, o.separator, item);
    if (o.ratings) {
      // In-group items rate 3-5, others 1-4.
      const auto r = own ? 3 + rng.below(3) : 1 + rng.below(4);
      fmt::format_to(std::back_inserter(out), "{}{}", o.separator, r);
    }
    if (o.times) {
      const double t = (static_cast<double>(row) + rng.uniform()) /
                       static_cast<double>(o.interactions) * span;
      fmt::format_to(std::back_inserter(out), "{}{}", o.separator,
                     kEpoch + static_cast<std::int64_t>(t));
    }
    out += '\n';
    if (out.size() >= (1 << 20) - 128) {
      write(out);
      out.clear();
      if (progress) progress(row + 1);
    }
  }
  write(out);
  if (progress) progress(o.interactions);
}

void generate_item_features(const SynthOptions& o,
                            const std::function<void(std::string_view)>& write) {
  check_synth_options(o);
  std::string out = "item_id,title,genres\n";
  for (std::int64_t i = 0; i < o.items; ++i) {
    fmt::format_to(std::back_inserter(out), "i{},Item {},g{}|all\n", i, i, i % o.clusters);
    if (out.size() >= 1 << 20) {
      write(out);
      out.clear();
    }
  }
  write(out);
}

void generate_user_features(const SynthOptions& o,
                            const std::function<void(std::string_view)>& write) {
  check_synth_options(o);
  static constexpr const char* kOccupations[] = {"student", "engineer", "artist", "writer",
                                                 "doctor",  "retired",  "other"};
  Rng rng(o.seed ^ 0x5eed);
  std::string out = "user_id,age,gender,occupation\n";
  for (std::int64_t u = 0; u < o.users; ++u) {
    // Age and occupation lean on the user's cluster, so demographics say something.
    const std::int64_t c = u % o.clusters;
    const auto age = 16 + (c * 7 + static_cast<std::int64_t>(rng.below(15))) % 60;
    fmt::format_to(std::back_inserter(out), "u{},{},{},{}\n", u, age, rng.below(2) ? "F" : "M",
                   kOccupations[(c + static_cast<std::int64_t>(rng.below(2))) % 7]);
    if (out.size() >= 1 << 20) {
      write(out);
      out.clear();
    }
  }
  write(out);
}

}  // namespace reckon
