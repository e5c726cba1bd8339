// Speed on a shared machine: each workload (the ials, bpr and itemknn fits on Gowalla, and the
// full-ranking evaluation of an ials model) timed quiet and beside one busy loop (a process
// spinning without touching memory, as a browser tab or another job would), alternating quiet
// and busy runs. Prints the medians of the timed part's wall and CPU seconds and the busy/quiet
// ratio of the wall times. With N threads on N cores and one core's worth taken away, a loop
// that shares its work well takes N/(N-1/2)... about 1.33-1.5x; spinning barriers and static
// partitions take 2x and more. Each run is a forked child.
// Usage: bench_contention [--reps N] [--only NAME] [--threads N] [--busy LOOPS]
#include <signal.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

#include <algorithm>
#include <chrono>
#include <cstdio>
#include <cstring>
#include <functional>
#include <map>
#include <string>
#include <vector>

#include "child_process.hpp"
#include "reckon/core/progress.hpp"
#include "reckon/core/threads.hpp"
#include "reckon/eval/evaluator.hpp"
#include "reckon/io/data_registry.hpp"
#include "reckon/io/import.hpp"

using namespace reckon;

namespace {

double cpu_seconds() {
  timespec t{};
  clock_gettime(CLOCK_PROCESS_CPUTIME_ID, &t);
  return static_cast<double>(t.tv_sec) + 1e-9 * static_cast<double>(t.tv_nsec);
}

double wall_seconds() {
  return std::chrono::duration<double>(std::chrono::steady_clock::now().time_since_epoch()).count();
}

// A process that spins on one CPU until killed.
pid_t start_busy_loop() {
  const pid_t pid = fork();
  if (pid == 0) {
    volatile unsigned long spin = 0;
    for (;;) spin = spin + 1;
  }
  return pid;
}

void stop(pid_t pid) {
  kill(pid, SIGKILL);
  waitpid(pid, nullptr, 0);
}

struct Workload {
  std::string label;
  // Prepares (untimed), then runs the timed part through `timed`.
  std::function<void(const std::function<void(const std::function<void()>&)>&)> run;
};

double median(std::vector<double> v) {
  std::sort(v.begin(), v.end());
  return v.empty() ? 0 : v[v.size() / 2];
}

}  // namespace

int main(int argc, char** argv) {
  int reps = 3, threads = 0, loops = 1;
  std::string only;
  for (int i = 1; i + 1 < argc; i += 2) {
    if (!std::strcmp(argv[i], "--reps")) reps = std::max(1, std::atoi(argv[i + 1]));
    if (!std::strcmp(argv[i], "--only")) only = argv[i + 1];
    if (!std::strcmp(argv[i], "--threads")) threads = std::atoi(argv[i + 1]);
    if (!std::strcmp(argv[i], "--busy")) loops = std::max(1, std::atoi(argv[i + 1]));
  }
  Progress::set_enabled(false);
  const auto data = data_dir() / "gowalla";
  const PredefinedSplit split = import_predefined_split(data / "train.txt", data / "test.txt", {});
  auto train = std::make_shared<const Dataset>(split.train);

  auto fit = [&](const std::string& model, std::map<std::string, std::string> params) {
    return [=](const std::function<void(const std::function<void()>&)>& timed) {
      timed([&] {
        FitContext ctx;
        ctx.verbose = false;
        train_model(model, train, params, ctx);
      });
    };
  };
  const std::vector<Workload> workloads = {
      {"ials 64 fit", fit("ials", {})},
      {"ials 128 fit", fit("ials", {{"factors", "128"}})},
      {"bpr 64 fit", fit("bpr", {})},
      {"itemknn fit", fit("itemknn", {{"neighbours", "100"}})},
      {"evaluate ials",
       [&](const std::function<void(const std::function<void()>&)>& timed) {
         FitContext ctx;
         ctx.verbose = false;
         TrainedModel t = train_model("ials", train, {}, ctx);
         EvalOptions o;
         o.ks = {20};
         o.metrics = {"recall", "ndcg"};
         o.progress = false;
         timed([&] { evaluate(*t.model, *train, split.test, CsrMatrix(), o); });
       }},
  };

  std::printf(
      "Gowalla: %lld users, %lld items, %lld interactions; %d threads, %d reps each, %d busy "
      "loop(s)\n",
      static_cast<long long>(train->num_users()), static_cast<long long>(train->num_items()),
      static_cast<long long>(train->num_interactions()), threads > 0 ? threads : default_threads(),
      reps, loops);
  std::printf("%-14s %9s %9s %9s %9s %7s\n", "workload", "quiet s", "quiet cpu", "busy s",
              "busy cpu", "ratio");
  for (const Workload& w : workloads) {
    if (!only.empty() && w.label.find(only) == std::string::npos) continue;
    std::vector<double> wall[2], cpu[2];
    for (int r = 0; r < reps; ++r) {
      for (int busy = 0; busy < 2; ++busy) {
        std::vector<pid_t> busy_loops;
        for (int l = 0; busy && l < loops; ++l) busy_loops.push_back(start_busy_loop());
        const auto c = bench::run_in_child<2>([&] {
          set_thread_budget(threads);
          std::array<double, 2> out{};
          w.run([&](const std::function<void()>& part) {
            const double w0 = wall_seconds(), c0 = cpu_seconds();
            part();
            out = {wall_seconds() - w0, cpu_seconds() - c0};
          });
          return out;
        });
        for (const pid_t pid : busy_loops) stop(pid);
        if (!c.ok) {
          std::printf("%-14s failed\n", w.label.c_str());
          return 1;
        }
        wall[busy].push_back(c.values[0]);
        cpu[busy].push_back(c.values[1]);
      }
    }
    const double q = median(wall[0]), b = median(wall[1]);
    std::printf("%-14s %9.2f %9.2f %9.2f %9.2f %6.2fx\n", w.label.c_str(), q, median(cpu[0]), b,
                median(cpu[1]), b / q);
    std::fflush(stdout);
  }
  return 0;
}
