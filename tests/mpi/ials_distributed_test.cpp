// ials trained across the ranks of an MPI job against the same fit in one process: run by
// ctest under mpiexec with 2 ranks (tests/CMakeLists.txt). Every rank fits both ways on the same
// data; the factors must agree up to float rounding (the Gram matrices are summed in another
// order), on every rank, and the lists they give must be the same.
#include <cmath>
#include <cstdio>
#include <set>
#include <vector>

#include "reckon/core/distributed.hpp"
#include "reckon/core/random.hpp"
#include "reckon/core/threads.hpp"
#include "reckon/models/factor_model.hpp"
#include "reckon/models/user_context.hpp"
#include "test_support.hpp"

using namespace reckon;

namespace {

// 400 users in 8 taste groups over 600 items, uneven history lengths (so that the shares
// balanced by interactions differ from equal row counts).
std::shared_ptr<const Dataset> taste_groups() {
  Rng rng(17);
  std::vector<index_t> u, i;
  for (index_t a = 0; a < 400; ++a) {
    const index_t n = 5 + static_cast<index_t>(rng.below(a % 5 == 0 ? 120 : 20));
    for (index_t k = 0; k < n; ++k) {
      u.push_back(a);
      const bool in_group = rng.uniform() < 0.85;
      i.push_back(in_group ? (a % 8) * 75 + static_cast<index_t>(rng.below(75))
                           : static_cast<index_t>(rng.below(600)));
    }
  }
  return std::make_shared<const Dataset>(test::make_dataset(CsrMatrix::from_coordinates(
      400, 600, u, i, std::vector<float>(u.size(), 1.0f), {}, DedupPolicy::kLast)));
}

double max_abs(const FactorMatrix& m) { return m.cwiseAbs().maxCoeff(); }

}  // namespace

int main() {
  Communicator& comm = mpi_world();
  set_thread_budget(1);
  const auto data = taste_groups();
  const std::map<std::string, std::string> params = {{"factors", "16"}, {"iterations", "8"}};
  int failures = 0;
  auto expect = [&](bool ok, const char* what, double value) {
    if (ok) return;
    ++failures;
    std::fprintf(stderr, "rank %d: %s (%g)\n", comm.rank(), what, value);
  };
  expect(comm.size() == 2, "expected 2 ranks", comm.size());

  FitContext ctx;
  ctx.threads = 1;
  ctx.seed = 5;
  set_distributed(nullptr);
  const TrainedModel alone = train_model("ials", data, params, ctx);
  set_distributed(&comm);
  const TrainedModel shared = train_model("ials", data, params, ctx);
  set_distributed(nullptr);
  expect(comm.seconds_communicating() > 0, "no time in exchanges recorded",
         comm.seconds_communicating());

  const auto& a = dynamic_cast<const FactorModel&>(*alone.model);
  const auto& b = dynamic_cast<const FactorModel&>(*shared.model);
  const double user_diff = (a.user_factors() - b.user_factors()).cwiseAbs().maxCoeff();
  const double item_diff = (a.item_factors() - b.item_factors()).cwiseAbs().maxCoeff();
  const double scale = std::max(max_abs(a.user_factors()), max_abs(a.item_factors()));
  expect(scale > 1e-3, "the single-process fit learned nothing", scale);
  expect(user_diff <= 1e-3 * scale, "user factors differ from the single-process fit", user_diff);
  expect(item_diff <= 1e-3 * scale, "item factors differ from the single-process fit", item_diff);

  // Every rank holds the same factors: the sum over ranks of each entry is size() times ours.
  FactorMatrix summed = b.item_factors();
  comm.sum(std::span<float>(summed.data(), static_cast<std::size_t>(summed.size())));
  const double spread = (summed - comm.size() * b.item_factors()).cwiseAbs().maxCoeff();
  expect(spread <= 1e-5 * scale * comm.size(), "ranks hold different item factors", spread);

  // The same top-10 lists.
  std::size_t same = 0, total = 0;
  for (index_t u = 0; u < 400; u += 3) {
    const UserContext c = training_context(*data, u);
    std::vector<std::vector<ScoredItem>> la, lb;
    a.top_k_batch(std::span<const UserContext>(&c, 1), 10, la);
    b.top_k_batch(std::span<const UserContext>(&c, 1), 10, lb);
    std::set<index_t> sa;
    for (const auto& s : la[0]) sa.insert(s.item);
    for (const auto& s : lb[0]) same += sa.count(s.item);
    total += 10;
  }
  expect(same >= total * 99 / 100, "top-10 lists differ", static_cast<double>(same) / total);

  // Balanced shares: contiguous, covering every row, by interactions.
  const auto shares = balanced_shares(data->interactions.indptr(), 2);
  expect(shares.size() == 3 && shares[0] == 0 && shares[2] == 400 && shares[1] > 0 &&
             shares[1] < 400,
         "bad shares", shares.size() == 3 ? static_cast<double>(shares[1]) : -1.0);

  double failed = failures;
  comm.sum(std::span<double>(&failed, 1));
  if (comm.rank() == 0)
    std::printf("ials on %d ranks against one process: factors within %.2g (users) and %.2g "
                "(items) of %.3g; %zu of %zu list entries the same; %s\n",
                comm.size(), user_diff, item_diff, scale, same, total,
                failed == 0 ? "ok" : "FAILED");
  return failed == 0 ? 0 : 1;
}
