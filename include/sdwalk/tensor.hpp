#pragma once
// A plain n-dimensional array: shape, dtype and 64-byte aligned, shared storage. No autograd,
// no strides: a Tensor is always contiguous (row-major). Copies share storage; clone() copies.
#include <cstddef>
#include <cstdint>
#include <initializer_list>
#include <memory>
#include <string>
#include <vector>

namespace sdwalk {

enum class DType { F32, F16, BF16, F64, I64, I32, U8 };

size_t dtype_size(DType dtype);
std::string dtype_name(DType dtype);  // safetensors spelling: "F32", "BF16", ...

using Shape = std::vector<int64_t>;
std::string shape_string(const Shape& shape);  // "[1, 4, 64, 64]"
int64_t shape_numel(const Shape& shape);

class Tensor {
 public:
  Tensor() = default;
  // Zero-filled tensor of the given shape.
  explicit Tensor(Shape shape, DType dtype = DType::F32);
  // Tensor whose contents are garbage until written: for outputs a kernel fills completely.
  static Tensor uninitialized(Shape shape, DType dtype = DType::F32);
  // Wraps memory owned by `owner` (e.g. an mmap'ed file); no copy.
  static Tensor view(Shape shape, DType dtype, const void* data, std::shared_ptr<const void> owner);
  static Tensor from_vector(Shape shape, const std::vector<float>& values);

  const Shape& shape() const { return shape_; }
  int ndim() const { return int(shape_.size()); }
  int64_t dim(int i) const;  // negative i counts from the end
  int64_t numel() const { return numel_; }
  DType dtype() const { return dtype_; }
  size_t nbytes() const { return size_t(numel_) * dtype_size(dtype_); }
  bool defined() const { return storage_ != nullptr; }
  // How many Tensors share this storage (views and slices included): 1 means this one alone holds
  // it, so a kernel may overwrite it in place.
  long use_count() const { return storage_.use_count(); }

  void* raw() { return storage_.get(); }
  const void* raw() const { return storage_.get(); }
  // Typed access; throws Error when T does not match dtype().
  template <class T> T* data();
  template <class T> const T* data() const;
  float* f32() { return data<float>(); }
  const float* f32() const { return data<float>(); }

  Tensor reshape(Shape shape) const;  // shares storage; element count must match
  Tensor clone() const;               // deep copy
  Tensor to(DType dtype) const;       // converts (copies even when dtype is the same)
  Tensor to_f32() const { return to(DType::F32); }
  // Rows [begin, end) of the first dimension, sharing storage.
  Tensor slice0(int64_t begin, int64_t end) const;

 private:
  Shape shape_;
  int64_t numel_ = 0;
  DType dtype_ = DType::F32;
  std::shared_ptr<std::byte> storage_;
};

// Concatenates along the first dimension (same dtype, same trailing shape).
Tensor cat0(const std::vector<Tensor>& parts);

// Allocates 64-byte aligned bytes (zeroed) for tensors and scratch buffers.
std::shared_ptr<std::byte> aligned_bytes(size_t nbytes);

}  // namespace sdwalk
