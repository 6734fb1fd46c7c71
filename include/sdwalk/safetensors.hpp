#pragma once
// safetensors reader (mmap, zero-copy views) and writer (atomic).
// Format: u64 little-endian header length, JSON header, raw little-endian tensor bytes.
#include <filesystem>
#include <map>
#include <memory>
#include <string>
#include <vector>

#include "sdwalk/tensor.hpp"

namespace sdwalk {

struct TensorInfo {
  std::string name;
  DType dtype;
  Shape shape;
  size_t begin = 0;  // byte offsets into the data section
  size_t end = 0;
};

class SafeTensors {
 public:
  // Opens and validates a file; throws Error naming the file (and tensor) on any defect.
  static SafeTensors open(const std::filesystem::path& path);
  // Validates an in-memory image of a file; `label` names it in errors. The bytes are copied.
  static SafeTensors from_bytes(const void* bytes, size_t size, const std::string& label);

  const std::string& label() const { return label_; }
  // Tensor names in the order of their data offsets.
  const std::vector<std::string>& names() const { return names_; }
  bool contains(const std::string& name) const { return infos_.count(name) != 0; }
  const TensorInfo& info(const std::string& name) const;
  // Zero-copy view of the stored bytes (dtype as stored). Keeps the mapping alive. A tensor whose
  // bytes are not aligned to its element size is copied instead.
  Tensor get(const std::string& name) const;
  // The tensor converted to float32 (a copy).
  Tensor get_f32(const std::string& name) const { return get(name).to_f32(); }
  // __metadata__ (string -> string), empty when absent.
  const std::map<std::string, std::string>& metadata() const { return metadata_; }
  size_t file_size() const { return size_; }

 private:
  void parse();
  std::string label_;
  std::shared_ptr<const void> mapping_;  // owns the bytes (mmap or heap)
  const unsigned char* bytes_ = nullptr;
  size_t size_ = 0;
  const unsigned char* data_ = nullptr;  // start of the data section
  size_t data_size_ = 0;
  std::map<std::string, TensorInfo> infos_;
  std::vector<std::string> names_;
  std::map<std::string, std::string> metadata_;
};

// Writes tensors (in name order) and metadata to `path` through a temporary file + rename.
void save_safetensors(const std::filesystem::path& path, const std::map<std::string, Tensor>& tensors,
                      const std::map<std::string, std::string>& metadata = {});

}  // namespace sdwalk
