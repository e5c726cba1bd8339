#pragma once
// The process's thread budget: `--threads N` means N. OpenMP regions and OpenBLAS get N, set
// once when a command starts; Eigen gets 1 (its parallel products spin at their barriers, so
// parallel work is split by our own loops, which run Eigen inside). Parallel regions never nest
// (OpenMP's active levels are capped at 1): a model's loop over users on N threads must not
// start teams of its own inside, and `--threads 1` creates no thread.
#include <optional>
#include <string>

namespace reckon {

// CPUs this process may run on: the affinity mask, capped by a cgroup v2 CPU quota
// (cpu.max "quota period"), at least 1. Not the host's core count.
int default_threads();

// Sets the budget (0: default_threads()) for OpenMP and OpenBLAS (Eigen: 1); returns it.
int set_thread_budget(int threads);

// The budget last set (default_threads() before any call).
int thread_budget();

// What to tell a user whose OpenBLAS fell back to its generic kernels on a processor with AVX2
// and FMA (an OpenBLAS older than the processor: Debian 12's 0.3.21 on Emerald Rapids), the
// matrix products of the neural models then running several times slower; nullopt otherwise.
std::optional<std::string> slow_blas_kernels();

}  // namespace reckon
