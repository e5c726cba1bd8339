// `--threads 1` means one thread: no OpenMP team, Eigen product or BLAS pool of its own during a
// fit (before the budget, an ials fit with --threads 1 kept creating threads and took 28 s on
// Gowalla instead of 1.7 s).
#include "reckon/core/threads.hpp"

#include <gtest/gtest.h>

#include <atomic>
#include <fstream>
#include <map>
#include <string>
#include <thread>

#include "reckon/core/random.hpp"
#include "reckon/models/model.hpp"
#include "test_support.hpp"

namespace reckon {
namespace {

int threads_now() {
  std::ifstream in("/proc/self/status");
  std::string key;
  while (in >> key)
    if (key == "Threads:") {
      int n = 0;
      in >> n;
      return n;
    }
  return -1;
}

TEST(ThreadBudget, DefaultFollowsTheAffinityMask) {
  const int n = default_threads();
  EXPECT_GE(n, 1);
  EXPECT_LE(n, static_cast<int>(std::thread::hardware_concurrency()));
}

TEST(ThreadBudget, OneThreadFitCreatesNoThread) {
  Rng rng(5);
  std::vector<index_t> u, i;
  std::vector<float> v;
  for (index_t a = 0; a < 3000; ++a)
    for (int k = 0; k < 20; ++k) {
      u.push_back(a);
      i.push_back(static_cast<index_t>(rng.below(600)));
      v.push_back(1.0f);
    }
  auto data = std::make_shared<Dataset>(
      test::make_dataset(CsrMatrix::from_coordinates(3000, 600, u, i, v, {}, DedupPolicy::kLast)));
  ASSERT_EQ(set_thread_budget(1), 1);
  EXPECT_EQ(thread_budget(), 1);
  for (const char* model : {"ials", "bpr", "itemknn", "ease"}) {
    std::atomic<bool> done{false};
    std::atomic<int> most{0};
    const int before = threads_now();
    std::thread watch([&] {
      while (!done) {
        most = std::max(most.load(), threads_now());
        std::this_thread::sleep_for(std::chrono::microseconds(200));
      }
    });
    FitContext ctx;
    ctx.threads = 1;
    ctx.verbose = false;
    const std::string name = model;
    std::map<std::string, std::string> params;
    if (name == "ials" || name == "bpr") params["factors"] = "32";
    train_model(name, data, params, ctx);
    done = true;
    watch.join();
    // The watcher is the one thread more.
    EXPECT_LE(most.load(), before + 1) << model << ": threads were created during the fit";
  }
  set_thread_budget(0);
}

}  // namespace
}  // namespace reckon
