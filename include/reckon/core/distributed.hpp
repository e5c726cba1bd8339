#pragma once
// Training across processes: `mpirun -np N reckon train DATA --model ials --distributed`. Each
// process (rank) reads the same data, owns a contiguous share of the users and of the items,
// solves its share, and the ranks exchange what the others need through a Communicator
// (OpenMPI's MPI_COMM_WORLD; docs/SCALING.md). Models never see MPI types: they ask
// distributed() for the process's communicator, which is null in a plain run.
#include <cstdint>
#include <span>
#include <vector>

#include "reckon/core/types.hpp"

namespace reckon {

class Communicator {
 public:
  virtual ~Communicator() = default;
  virtual int rank() const = 0;
  virtual int size() const = 0;
  // Element-wise sum over every rank, in place on each.
  virtual void sum(std::span<float> data) = 0;
  virtual void sum(std::span<double> data) = 0;
  // A row-major matrix of `cols` floats a row, of which rank r holds rows [first[r],
  // first[r + 1]) (first has size() + 1 entries): afterwards every rank holds every row.
  virtual void gather_rows(float* data, std::span<const std::int64_t> first,
                           std::int64_t cols) = 0;
  // Ends every rank of the job (after an error on one: the others would wait forever).
  [[noreturn]] virtual void abort(int code) = 0;
  // Wall seconds spent inside sum() and gather_rows() (waiting included).
  double seconds_communicating() const noexcept { return seconds_; }

 protected:
  double seconds_ = 0;
};

// Whether this build has MPI (RECKON_WITH_MPI: OpenMPI from libopenmpi-dev).
bool mpi_available();
// MPI_COMM_WORLD, initialised on the first call (finalised at exit); throws without MPI.
Communicator& mpi_world();

// The communicator of distributed training, or null for a single process (the default).
Communicator* distributed();
void set_distributed(Communicator* communicator);

// `parts` contiguous shares of the rows of a CSR matrix with row pointers `indptr` (rows + 1
// entries), balanced by interactions (each row also counts one, so that empty rows spread):
// share r is rows [first[r], first[r + 1]).
std::vector<std::int64_t> balanced_shares(std::span<const index_t> indptr, int parts);

}  // namespace reckon
