#include "sdwalk/tensor.hpp"

#include <algorithm>
#include <malloc.h>
#include <sys/mman.h>

#include <cstdlib>
#include <cstring>
#include <sstream>

#include "sdwalk/error.hpp"
#include "core/half.hpp"

namespace sdwalk {

size_t dtype_size(DType dtype) {
  switch (dtype) {
    case DType::F32: return 4;
    case DType::F16: return 2;
    case DType::BF16: return 2;
    case DType::F64: return 8;
    case DType::I64: return 8;
    case DType::I32: return 4;
    case DType::U8: return 1;
  }
  return 0;
}

std::string dtype_name(DType dtype) {
  switch (dtype) {
    case DType::F32: return "F32";
    case DType::F16: return "F16";
    case DType::BF16: return "BF16";
    case DType::F64: return "F64";
    case DType::I64: return "I64";
    case DType::I32: return "I32";
    case DType::U8: return "U8";
  }
  return "?";
}

std::string shape_string(const Shape& shape) {
  std::ostringstream os;
  os << '[';
  for (size_t i = 0; i < shape.size(); ++i) os << (i ? ", " : "") << shape[i];
  os << ']';
  return os.str();
}

int64_t shape_numel(const Shape& shape) {
  int64_t n = 1;
  for (int64_t d : shape) {
    check(d >= 0, "negative dimension in shape " + shape_string(shape));
    n *= d;
  }
  return n;
}

namespace {
// Activations are allocated and freed every layer; by default glibc returns big blocks to the OS
// and page-faults them back in on the next allocation. Keep them in the process instead.
const bool allocator_tuned = [] {
  mallopt(M_MMAP_THRESHOLD, 1 << 30);
  mallopt(M_TRIM_THRESHOLD, 1 << 30);
  return true;
}();

std::shared_ptr<std::byte> allocate(size_t nbytes, bool zero) {
  (void)allocator_tuned;
  // Big blocks go on 2 MiB pages: a page fault costs microseconds (more in a VM), and a 4 KiB-paged
  // activation of tens of MB takes thousands of them the first time it is written. Only blocks of
  // 32 MiB and more, so that rounding up to whole huge pages wastes little.
  constexpr size_t kHuge = size_t(2) << 20;
  const bool huge = nbytes >= 16 * kHuge;
  const size_t align = huge ? kHuge : 64;
  const size_t rounded = nbytes == 0 ? 64 : (nbytes + align - 1) / align * align;
  void* p = std::aligned_alloc(align, rounded);
  if (!p) throw Error("out of memory allocating " + std::to_string(nbytes) + " bytes");
  if (huge) madvise(p, rounded, MADV_HUGEPAGE);
  if (zero) std::memset(p, 0, rounded);
  return std::shared_ptr<std::byte>(static_cast<std::byte*>(p), [](std::byte* q) { std::free(q); });
}
}  // namespace

Tensor Tensor::uninitialized(Shape shape, DType dtype) {
  Tensor t;
  t.shape_ = std::move(shape);
  t.numel_ = shape_numel(t.shape_);
  t.dtype_ = dtype;
  t.storage_ = allocate(t.nbytes(), false);
  return t;
}

std::shared_ptr<std::byte> aligned_bytes(size_t nbytes) { return allocate(nbytes, true); }

Tensor::Tensor(Shape shape, DType dtype)
    : shape_(std::move(shape)), numel_(shape_numel(shape_)), dtype_(dtype) {
  storage_ = aligned_bytes(nbytes());
}

Tensor Tensor::view(Shape shape, DType dtype, const void* data, std::shared_ptr<const void> owner) {
  Tensor t;
  t.shape_ = std::move(shape);
  t.numel_ = shape_numel(t.shape_);
  t.dtype_ = dtype;
  // Aliasing constructor: keeps `owner` alive, points at `data`.
  t.storage_ = std::shared_ptr<std::byte>(std::const_pointer_cast<void>(owner),
                                          static_cast<std::byte*>(const_cast<void*>(data)));
  return t;
}

Tensor Tensor::from_vector(Shape shape, const std::vector<float>& values) {
  Tensor t(std::move(shape));
  check(size_t(t.numel()) == values.size(),
        "from_vector: " + std::to_string(values.size()) + " values for shape " + shape_string(t.shape()));
  std::memcpy(t.raw(), values.data(), values.size() * sizeof(float));
  return t;
}

int64_t Tensor::dim(int i) const {
  const int n = ndim();
  if (i < 0) i += n;
  check(i >= 0 && i < n, "dimension index out of range for shape " + shape_string(shape_));
  return shape_[size_t(i)];
}

namespace {
template <class T> constexpr DType dtype_of();
template <> constexpr DType dtype_of<float>() { return DType::F32; }
template <> constexpr DType dtype_of<double>() { return DType::F64; }
template <> constexpr DType dtype_of<int64_t>() { return DType::I64; }
template <> constexpr DType dtype_of<int32_t>() { return DType::I32; }
template <> constexpr DType dtype_of<uint8_t>() { return DType::U8; }
template <> constexpr DType dtype_of<uint16_t>() { return DType::F16; }  // F16 or BF16 bits
}  // namespace

template <class T> T* Tensor::data() {
  const DType want = dtype_of<T>();
  // Hot path: build the message only on failure.
  if (dtype_ != want && !(want == DType::F16 && dtype_ == DType::BF16)) [[unlikely]]
    throw Error("tensor holds " + dtype_name(dtype_) + ", accessed as " + dtype_name(want));
  return reinterpret_cast<T*>(storage_.get());
}
template <class T> const T* Tensor::data() const { return const_cast<Tensor*>(this)->data<T>(); }

template float* Tensor::data<float>();
template double* Tensor::data<double>();
template int64_t* Tensor::data<int64_t>();
template int32_t* Tensor::data<int32_t>();
template uint8_t* Tensor::data<uint8_t>();
template uint16_t* Tensor::data<uint16_t>();
template const float* Tensor::data<float>() const;
template const double* Tensor::data<double>() const;
template const int64_t* Tensor::data<int64_t>() const;
template const int32_t* Tensor::data<int32_t>() const;
template const uint8_t* Tensor::data<uint8_t>() const;
template const uint16_t* Tensor::data<uint16_t>() const;

Tensor Tensor::reshape(Shape shape) const {
  check(shape_numel(shape) == numel_,
        "cannot reshape " + shape_string(shape_) + " to " + shape_string(shape));
  Tensor t = *this;
  t.shape_ = std::move(shape);
  return t;
}

Tensor Tensor::clone() const {
  Tensor t = uninitialized(shape_, dtype_);
  if (nbytes()) std::memcpy(t.raw(), raw(), nbytes());
  return t;
}

namespace {
double load_as_double(const Tensor& t, int64_t i) {
  const void* p = t.raw();
  switch (t.dtype()) {
    case DType::F32: return static_cast<const float*>(p)[i];
    case DType::F16: return half_to_float(static_cast<const uint16_t*>(p)[i]);
    case DType::BF16: return bf16_to_float(static_cast<const uint16_t*>(p)[i]);
    case DType::F64: return static_cast<const double*>(p)[i];
    case DType::I64: return double(static_cast<const int64_t*>(p)[i]);
    case DType::I32: return static_cast<const int32_t*>(p)[i];
    case DType::U8: return static_cast<const uint8_t*>(p)[i];
  }
  return 0;
}
}  // namespace

Tensor Tensor::to(DType dtype) const {
  if (dtype == dtype_) return clone();
  Tensor out = uninitialized(shape_, dtype);
  const int64_t n = numel_;
  void* q = out.raw();
  // Fast, exact paths for the conversions that matter (weights at load time).
  if (dtype == DType::F32 && dtype_ == DType::F16) {
    const uint16_t* s = static_cast<const uint16_t*>(raw());
    float* d = static_cast<float*>(q);
#pragma omp parallel for if (n > (1 << 16))
    for (int64_t i = 0; i < n; ++i) d[i] = half_to_float(s[i]);
    return out;
  }
  if (dtype == DType::F32 && dtype_ == DType::BF16) {
    const uint16_t* s = static_cast<const uint16_t*>(raw());
    float* d = static_cast<float*>(q);
#pragma omp parallel for if (n > (1 << 16))
    for (int64_t i = 0; i < n; ++i) d[i] = bf16_to_float(s[i]);
    return out;
  }
  for (int64_t i = 0; i < n; ++i) {
    const double v = load_as_double(*this, i);
    switch (dtype) {
      case DType::F32: static_cast<float*>(q)[i] = float(v); break;
      case DType::F16: static_cast<uint16_t*>(q)[i] = float_to_half(float(v)); break;
      case DType::BF16: static_cast<uint16_t*>(q)[i] = float_to_bf16(float(v)); break;
      case DType::F64: static_cast<double*>(q)[i] = v; break;
      case DType::I64: static_cast<int64_t*>(q)[i] = int64_t(v); break;
      case DType::I32: static_cast<int32_t*>(q)[i] = int32_t(v); break;
      case DType::U8: static_cast<uint8_t*>(q)[i] = uint8_t(v); break;
    }
  }
  return out;
}

Tensor Tensor::slice0(int64_t begin, int64_t end) const {
  check(ndim() >= 1 && begin >= 0 && begin <= end && end <= shape_[0],
        "slice0 [" + std::to_string(begin) + ", " + std::to_string(end) + ") out of range for " +
            shape_string(shape_));
  Tensor t = *this;
  t.shape_[0] = end - begin;
  t.numel_ = shape_numel(t.shape_);
  const int64_t row = shape_[0] ? numel_ / shape_[0] : 0;
  t.storage_ = std::shared_ptr<std::byte>(storage_, storage_.get() + begin * row * int64_t(dtype_size(dtype_)));
  return t;
}

Tensor cat0(const std::vector<Tensor>& parts) {
  check(!parts.empty(), "cat0: nothing to concatenate");
  Shape shape = parts[0].shape();
  check(!shape.empty(), "cat0: scalars cannot be concatenated");
  shape[0] = 0;
  for (const Tensor& p : parts) {
    Shape s = p.shape();
    check(p.dtype() == parts[0].dtype() && s.size() == shape.size() &&
              std::equal(s.begin() + 1, s.end(), parts[0].shape().begin() + 1),
          "cat0: shape " + shape_string(s) + " does not match " + shape_string(parts[0].shape()));
    shape[0] += s[0];
  }
  Tensor out = Tensor::uninitialized(shape, parts[0].dtype());
  std::byte* q = static_cast<std::byte*>(out.raw());
  for (const Tensor& p : parts) {
    if (p.nbytes()) std::memcpy(q, p.raw(), p.nbytes());
    q += p.nbytes();
  }
  return out;
}

}  // namespace sdwalk
