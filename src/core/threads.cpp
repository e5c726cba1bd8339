#include "reckon/core/threads.hpp"

#include <omp.h>
#include <sched.h>

#include <Eigen/Core>
#include <algorithm>
#include <atomic>
#include <cmath>
#include <cstdio>

// OpenBLAS's own pool (Debian's default build uses pthreads, which OpenMP settings do not
// reach). Weak: absent with another BLAS.
extern "C" void openblas_set_num_threads(int) __attribute__((weak));
extern "C" char* openblas_get_corename(void) __attribute__((weak));

namespace reckon {

namespace {
std::atomic<int> budget{0};

int cgroup_quota_cpus() {
  std::FILE* f = std::fopen("/sys/fs/cgroup/cpu.max", "r");
  if (!f) return 0;
  char quota[32] = {};
  long long period = 0;
  int cpus = 0;
  if (std::fscanf(f, "%31s %lld", quota, &period) == 2 && period > 0) {
    char* end = nullptr;
    const long long q = std::strtoll(quota, &end, 10);
    if (end != quota && q > 0)  // "max" means no quota
      cpus = std::max(1, static_cast<int>(std::ceil(static_cast<double>(q) / period)));
  }
  std::fclose(f);
  return cpus;
}
}  // namespace

int default_threads() {
  int cpus = 0;
  cpu_set_t set;
  if (sched_getaffinity(0, sizeof set, &set) == 0) cpus = CPU_COUNT(&set);
  if (cpus <= 0) cpus = 1;
  if (const int quota = cgroup_quota_cpus(); quota > 0) cpus = std::min(cpus, quota);
  return cpus;
}

int set_thread_budget(int threads) {
  const int n = threads > 0 ? threads : default_threads();
  omp_set_num_threads(n);
  omp_set_max_active_levels(1);
  omp_set_dynamic(0);
  // Eigen's own parallel products spin-wait at their barriers (perf: a fifth of the ials fit
  // beside one busy core went there) and partition statically; our loops run Eigen inside
  // their own regions, and the few top-level products are split by us (gram_matrix).
  Eigen::setNbThreads(1);
  if (openblas_set_num_threads) openblas_set_num_threads(n);
  budget = n;
  return n;
}

std::optional<std::string> slow_blas_kernels() {
  if (!openblas_get_corename) return std::nullopt;
  std::string core = openblas_get_corename();
  std::transform(core.begin(), core.end(), core.begin(),
                 [](unsigned char c) { return static_cast<char>(std::tolower(c)); });
  if (core != "prescott" || !__builtin_cpu_supports("avx2") || !__builtin_cpu_supports("fma"))
    return std::nullopt;
  return "OpenBLAS does not know this processor and runs its slowest (Prescott, SSE3) kernels; "
         "OPENBLAS_CORETYPE=Haswell in the environment gives it the AVX2 ones (sasrec on "
         "ML-100K: 1.5x faster)";
}

int thread_budget() {
  const int b = budget.load();
  return b > 0 ? b : default_threads();
}

}  // namespace reckon
