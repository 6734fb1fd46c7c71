#include "cli/mpi_shard.hpp"

#include "sdwalk/error.hpp"

#ifdef SDWALK_HAVE_MPI
#include <mpi.h>
#endif

namespace sdwalk::cli {

#ifdef SDWALK_HAVE_MPI

MpiSession::MpiSession() {
  MPI_Init(nullptr, nullptr);
  MPI_Comm_rank(MPI_COMM_WORLD, &rank_);
  MPI_Comm_size(MPI_COMM_WORLD, &size_);
}

MpiSession::~MpiSession() { MPI_Finalize(); }

bool MpiSession::all_succeeded(bool mine) const {
  int ok = mine ? 1 : 0, all = 0;
  MPI_Allreduce(&ok, &all, 1, MPI_INT, MPI_LAND, MPI_COMM_WORLD);
  return all != 0;
}

#else

MpiSession::MpiSession() {
  throw Error("--mpi: this sdwalk was built without MPI (install libopenmpi-dev, e.g. with scripts/setup, and rebuild); "
              "--shard K/N splits a walk without it");
}
MpiSession::~MpiSession() = default;
bool MpiSession::all_succeeded(bool mine) const { return mine; }

#endif

}  // namespace sdwalk::cli
