#include "distributed_run.hpp"

#include <spdlog/spdlog.h>

#include <cstdio>
#include <exception>

#include "reckon/core/progress.hpp"

namespace reckon::cli {

void run_distributed(const std::function<void(Communicator&)>& body) {
  Communicator& comm = mpi_world();
  if (comm.rank() != 0) {
    Progress::set_enabled(false);
    spdlog::set_level(spdlog::level::warn);
  }
  try {
    set_distributed(&comm);
    body(comm);
    set_distributed(nullptr);
  } catch (const std::exception& e) {
    set_distributed(nullptr);
    std::fprintf(stderr, "reckon: error on rank %d of %d: %s\n", comm.rank(), comm.size(),
                 e.what());
    std::fflush(stderr);
    if (comm.size() > 1) comm.abort(1);
    throw;
  }
}

}  // namespace reckon::cli
