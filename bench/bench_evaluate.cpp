// Full-ranking evaluation speed on the Gowalla LightGCN split: popular, and a 64-factor
// dot-product model (random factors; the cost of scoring is what matters here, not quality).
// Usage: bench_evaluate [--factors F] [--threads T]
#include <Eigen/Dense>
#include <chrono>
#include <cstdio>
#include <cstdlib>
#include <string>

#include "reckon/core/progress.hpp"
#include "reckon/core/random.hpp"
#include "reckon/eval/evaluator.hpp"
#include "reckon/eval/report.hpp"
#include "reckon/io/data_registry.hpp"
#include "reckon/io/import.hpp"

using namespace reckon;

namespace {

class DotModel final : public Model {
 public:
  explicit DotModel(int factors) : f_(factors) {}
  std::string_view name() const noexcept override { return "dot64"; }
  void fit(const Dataset& d, const Params&, FitContext&) override {
    Rng rng(1);
    items_.resize(d.num_items(), f_);
    users_.resize(d.num_users(), f_);
    for (Eigen::Index i = 0; i < items_.size(); ++i)
      items_.data()[i] = static_cast<float>(rng.uniform() - 0.5);
    for (Eigen::Index i = 0; i < users_.size(); ++i)
      users_.data()[i] = static_cast<float>(rng.uniform() - 0.5);
  }
  void score(const UserContext& u, std::span<float> out) const override {
    Eigen::Map<Eigen::VectorXf> s(out.data(), static_cast<Eigen::Index>(out.size()));
    s.noalias() = items_ * users_.row(*u.user).transpose();
  }
  void score_batch(std::span<const UserContext> users, std::span<float> out) const override {
    const auto b = static_cast<Eigen::Index>(users.size());
    Eigen::Matrix<float, Eigen::Dynamic, Eigen::Dynamic, Eigen::RowMajor> u(b, f_);
    for (Eigen::Index r = 0; r < b; ++r)
      u.row(r) = users_.row(*users[static_cast<std::size_t>(r)].user);
    Eigen::Map<Eigen::Matrix<float, Eigen::Dynamic, Eigen::Dynamic, Eigen::RowMajor>> o(
        out.data(), b, items_.rows());
    o.noalias() = u * items_.transpose();
  }
  void save(BinaryWriter&) const override {}
  void load(BinaryReader&) override {}
  void validate(const Dataset&) const override {}  // never loaded from a file

 private:
  int f_;
  Eigen::Matrix<float, Eigen::Dynamic, Eigen::Dynamic, Eigen::RowMajor> items_, users_;
};

}  // namespace

int main(int argc, char** argv) {
  int factors = 64, threads = 0;
  for (int i = 1; i + 1 < argc; i += 2) {
    if (std::string(argv[i]) == "--factors") factors = std::atoi(argv[i + 1]);
    if (std::string(argv[i]) == "--threads") threads = std::atoi(argv[i + 1]);
  }
  Progress::set_enabled(false);
  const auto dir = data_dir() / "gowalla";
  const PredefinedSplit s = import_predefined_split(dir / "train.txt", dir / "test.txt", {});
  std::printf(
      "gowalla: %lld users, %lld items, %lld train, %lld test\n",
      static_cast<long long>(s.train.num_users()), static_cast<long long>(s.train.num_items()),
      static_cast<long long>(s.train.num_interactions()), static_cast<long long>(s.test.nnz()));
  std::printf("%-10s %8s %10s %10s %10s %12s\n", "model", "threads", "eval s", "recall@20",
              "ndcg@20", "users/s");
  EvalOptions o;
  o.metrics = {"recall", "ndcg", "precision", "map", "hitrate", "mrr", "coverage", "novelty"};
  o.progress = false;
  o.threads = threads;
  FitContext ctx;
  auto train = std::make_shared<const Dataset>(s.train);
  {
    TrainedModel t = train_model("popular", train, {}, ctx);
    const EvalResult r = evaluate(*t.model, *train, s.test, CsrMatrix(), o);
    std::printf("%-10s %8d %10.3f %10.4f %10.4f %12.0f\n", "popular", threads, r.seconds,
                r.metrics.at("recall@20"), r.metrics.at("ndcg@20"),
                static_cast<double>(r.users) / r.seconds);
  }
  {
    DotModel m(factors);
    m.fit(*train, Params(), ctx);
    const EvalResult r = evaluate(m, *train, s.test, CsrMatrix(), o);
    std::printf("%-10s %8d %10.3f %10.4f %10.4f %12.0f\n",
                ("dot" + std::to_string(factors)).c_str(), threads, r.seconds,
                r.metrics.at("recall@20"), r.metrics.at("ndcg@20"),
                static_cast<double>(r.users) / r.seconds);
  }
  std::printf("peak RSS %.0f MB\n", peak_rss_mb());
  return 0;
}
