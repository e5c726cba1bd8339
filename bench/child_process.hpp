#pragma once
// Runs a piece of benchmark work in a forked child so that its peak RSS is its own: the child
// sends back a few numbers through a pipe, the parent reads the child's ru_maxrss.
#include <sys/resource.h>
#include <sys/wait.h>
#include <unistd.h>

#include <array>
#include <cstdio>
#include <cstdlib>
#include <exception>
#include <functional>

namespace reckon::bench {

template <std::size_t N>
struct ChildResult {
  std::array<double, N> values{};
  long peak_kb = 0;
  bool ok = false;
};

template <std::size_t N>
ChildResult<N> run_in_child(const std::function<std::array<double, N>()>& work) {
  int fd[2];
  if (pipe(fd) != 0) std::abort();
  const pid_t pid = fork();
  if (pid == 0) {
    close(fd[0]);
    std::array<double, N> v{};
    try {
      v = work();
    } catch (const std::exception& e) {
      std::fprintf(stderr, "error: %s\n", e.what());
      _exit(1);
    }
    if (write(fd[1], v.data(), sizeof(double) * N) != static_cast<ssize_t>(sizeof(double) * N))
      _exit(2);
    _exit(0);
  }
  close(fd[1]);
  ChildResult<N> r;
  const auto got = read(fd[0], r.values.data(), sizeof(double) * N);
  close(fd[0]);
  int status = 0;
  rusage usage{};
  wait4(pid, &status, 0, &usage);
  r.ok = got == static_cast<ssize_t>(sizeof(double) * N) && WIFEXITED(status) &&
         WEXITSTATUS(status) == 0;
  r.peak_kb = usage.ru_maxrss;
  return r;
}

}  // namespace reckon::bench
