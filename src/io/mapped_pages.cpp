// release_mapped_pages: gives back the resident pages of checkpoint views once their weights have been
// converted (or checked, or hashed). The mappings are PROT_READ and MAP_PRIVATE and never written, so
// MADV_DONTNEED only drops our page-table entries: the bytes stay in the file (and the page cache) and
// come back on the next access. Without this, every page of a checkpoint read once stays in the
// process's resident set next to the converted weights: twice the model in memory.
#include <sys/mman.h>
#include <unistd.h>

#include <algorithm>
#include <cstdint>
#include <map>
#include <mutex>

#include "io/mapped_pages.hpp"
#include "sdwalk/weights.hpp"

namespace sdwalk {
namespace io {
namespace {

std::mutex g_mutex;
std::map<uintptr_t, uintptr_t> g_mappings;  // begin -> end

}  // namespace

void register_file_mapping(const void* begin, size_t size) {
  std::lock_guard<std::mutex> lock(g_mutex);
  g_mappings[reinterpret_cast<uintptr_t>(begin)] = reinterpret_cast<uintptr_t>(begin) + size;
}

void unregister_file_mapping(const void* begin) {
  std::lock_guard<std::mutex> lock(g_mutex);
  g_mappings.erase(reinterpret_cast<uintptr_t>(begin));
}

}  // namespace io

void release_mapped_pages(const Tensor& t) {
  if (!t.defined() || t.nbytes() == 0) return;
  const auto begin = reinterpret_cast<uintptr_t>(t.raw());
  const uintptr_t end = begin + t.nbytes();
  std::lock_guard<std::mutex> lock(io::g_mutex);
  auto it = io::g_mappings.upper_bound(begin);
  if (it == io::g_mappings.begin()) return;
  --it;
  if (end > it->second) return;  // not inside one of our file mappings
  // Whole pages, rounded outwards but kept inside the mapping: a neighbour's bytes on a shared page
  // are simply read back when touched.
  static const uintptr_t page = uintptr_t(sysconf(_SC_PAGESIZE));
  const uintptr_t lo = std::max(begin & ~(page - 1), it->first);
  const uintptr_t hi = std::min((end + page - 1) & ~(page - 1), (it->second + page - 1) & ~(page - 1));
  if (hi > lo) madvise(reinterpret_cast<void*>(lo), hi - lo, MADV_DONTNEED);
}

void release_mapped_pages(const Weights& w) {
  for (const auto& name : w.names()) release_mapped_pages(w.get(name));
}

}  // namespace sdwalk
