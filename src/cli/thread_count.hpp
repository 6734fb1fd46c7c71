#pragma once
// --threads beyond the machine's cores makes OpenMP oversubscribe (60x slower at 1000): capped.
namespace sdwalk::cli {

// `requested` (0: all cores), capped at the number of cores with a one-line warning on stderr.
int thread_count_for(int requested);

}  // namespace sdwalk::cli
