#pragma once
// Running a command as one rank of an MPI job (train/evaluate --distributed).
#include <functional>

#include "reckon/core/distributed.hpp"

namespace reckon::cli {

// Runs `body` with MPI_COMM_WORLD as the process's communicator. Ranks other than 0 are quiet
// (no progress bars or info logs: rank 0 speaks for the job). An error on any rank is printed
// with its rank and ends the whole job: the other ranks would wait in their next exchange
// forever.
void run_distributed(const std::function<void(Communicator&)>& body);

}  // namespace reckon::cli
