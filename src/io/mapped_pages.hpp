#pragma once
// The read-only file mappings SafeTensors::open makes, so that release_mapped_pages (weights.hpp)
// can tell a view into a checkpoint from a tensor in ordinary memory.
#include <cstddef>

namespace sdwalk::io {

void register_file_mapping(const void* begin, size_t size);
void unregister_file_mapping(const void* begin);

}  // namespace sdwalk::io
