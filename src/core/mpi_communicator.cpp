// MPI_COMM_WORLD behind the Communicator interface: the only file that includes <mpi.h>.
#include <fmt/format.h>

#include <algorithm>
#include <chrono>
#include <cstdlib>
#include <limits>
#include <memory>

#include "reckon/core/distributed.hpp"
#include "reckon/core/error.hpp"

#if RECKON_HAVE_MPI
#include <mpi.h>
#endif

namespace reckon {

#if RECKON_HAVE_MPI

namespace {

using Clock = std::chrono::steady_clock;

void check(int code, const char* what) {
  if (code == MPI_SUCCESS) return;
  char text[MPI_MAX_ERROR_STRING];
  int len = 0;
  MPI_Error_string(code, text, &len);
  throw Error(fmt::format("MPI: {} failed: {}", what, std::string(text, static_cast<std::size_t>(len))));
}

class MpiWorld final : public Communicator {
 public:
  MpiWorld() {
    int ready = 0;
    MPI_Initialized(&ready);
    if (!ready) {
      // Only the main thread calls MPI (the models' OpenMP threads never do).
      int provided = 0;
      check(MPI_Init_thread(nullptr, nullptr, MPI_THREAD_FUNNELED, &provided), "MPI_Init_thread");
      owns_ = true;
    }
    // Errors come back as codes (and become exceptions) instead of killing the job silently.
    MPI_Comm_set_errhandler(MPI_COMM_WORLD, MPI_ERRORS_RETURN);
    MPI_Comm_rank(MPI_COMM_WORLD, &rank_);
    MPI_Comm_size(MPI_COMM_WORLD, &size_);
  }
  ~MpiWorld() override {
    int done = 0;
    MPI_Finalized(&done);
    if (owns_ && !done) MPI_Finalize();
  }

  int rank() const override { return rank_; }
  int size() const override { return size_; }

  void sum(std::span<float> data) override { reduce(data.data(), data.size(), MPI_FLOAT); }
  void sum(std::span<double> data) override { reduce(data.data(), data.size(), MPI_DOUBLE); }

  void gather_rows(float* data, std::span<const std::int64_t> first, std::int64_t cols) override {
    RECKON_CHECK(static_cast<int>(first.size()) == size_ + 1 && cols > 0,
                 "gather_rows: {} shares for {} ranks", first.size(), size_);
    const auto t0 = Clock::now();
    // One MPI type per row: counts are rows, which fit an int where elements might not.
    MPI_Datatype row;
    check(MPI_Type_contiguous(static_cast<int>(cols), MPI_FLOAT, &row), "MPI_Type_contiguous");
    MPI_Type_commit(&row);
    std::vector<int> counts(static_cast<std::size_t>(size_)), displs(counts.size());
    for (int r = 0; r < size_; ++r) {
      const auto n = first[r + 1] - first[r], at = first[r];
      RECKON_CHECK(n >= 0 && at >= 0 && at + n <= std::numeric_limits<int>::max(),
                   "gather_rows: share {} of {} rows does not fit MPI's counts", r, n);
      counts[static_cast<std::size_t>(r)] = static_cast<int>(n);
      displs[static_cast<std::size_t>(r)] = static_cast<int>(at);
    }
    const int code = MPI_Allgatherv(MPI_IN_PLACE, 0, MPI_DATATYPE_NULL, data, counts.data(),
                                    displs.data(), row, MPI_COMM_WORLD);
    MPI_Type_free(&row);
    check(code, "MPI_Allgatherv");
    seconds_ += std::chrono::duration<double>(Clock::now() - t0).count();
  }

  [[noreturn]] void abort(int code) override {
    MPI_Abort(MPI_COMM_WORLD, code);
    std::_Exit(code);
  }

 private:
  void reduce(void* data, std::size_t n, MPI_Datatype type) {
    const auto t0 = Clock::now();
    // In pieces of at most 2^30 elements: MPI's counts are ints.
    constexpr std::size_t kPiece = std::size_t{1} << 30;
    const std::size_t bytes = type == MPI_FLOAT ? sizeof(float) : sizeof(double);
    for (std::size_t at = 0; at < n; at += kPiece) {
      const std::size_t len = std::min(kPiece, n - at);
      check(MPI_Allreduce(MPI_IN_PLACE, static_cast<char*>(data) + at * bytes,
                          static_cast<int>(len), type, MPI_SUM, MPI_COMM_WORLD),
            "MPI_Allreduce");
    }
    seconds_ += std::chrono::duration<double>(Clock::now() - t0).count();
  }

  int rank_ = 0, size_ = 1;
  bool owns_ = false;
};

}  // namespace

bool mpi_available() { return true; }

Communicator& mpi_world() {
  static MpiWorld world;  // finalised after main returns
  return world;
}

#else

bool mpi_available() { return false; }

Communicator& mpi_world() {
  throw Error(
      "--distributed needs a build with MPI (libopenmpi-dev and openmpi-bin; scripts/install-deps), "
      "and this one has none");
}

#endif

}  // namespace reckon
