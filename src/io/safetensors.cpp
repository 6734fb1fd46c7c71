#include "sdwalk/safetensors.hpp"
#include "core/file_checks.hpp"

#include <fcntl.h>
#include <sys/mman.h>
#include <sys/stat.h>
#include <unistd.h>

#include <algorithm>
#include <cstring>
#include <fstream>
#include <limits>
#include <nlohmann/json.hpp>
#include <set>

#include "io/mapped_pages.hpp"
#include "core/atomic_file.hpp"
#include "sdwalk/error.hpp"

namespace sdwalk {
namespace {

constexpr uint64_t kMaxHeaderBytes = 100u << 20;  // real headers are < 1 MB

bool parse_dtype(const std::string& s, DType* out) {
  static const std::map<std::string, DType> table = {
      {"F32", DType::F32}, {"F16", DType::F16}, {"BF16", DType::BF16}, {"F64", DType::F64},
      {"I64", DType::I64}, {"I32", DType::I32}, {"U8", DType::U8}};
  auto it = table.find(s);
  if (it == table.end()) return false;
  *out = it->second;
  return true;
}

}  // namespace

SafeTensors SafeTensors::open(const std::filesystem::path& path) {
  const std::string label = path.string();
  check_regular_file(path, "a safetensors file");  // before open(): opening a FIFO blocks
  const int fd = ::open(label.c_str(), O_RDONLY | O_CLOEXEC);
  if (fd < 0) throw Error(label + ": cannot open (" + std::strerror(errno) + ")");
  struct stat st {};
  if (::fstat(fd, &st) != 0 || !S_ISREG(st.st_mode)) {
    ::close(fd);
    throw Error(label + ": not a regular file");
  }
  SafeTensors f;
  f.label_ = label;
  f.size_ = size_t(st.st_size);
  if (f.size_ == 0) {
    ::close(fd);
    throw Error(label + ": empty file, expected a safetensors header");
  }
  void* p = ::mmap(nullptr, f.size_, PROT_READ, MAP_PRIVATE, fd, 0);
  ::close(fd);
  if (p == MAP_FAILED) throw Error(label + ": mmap failed (" + std::strerror(errno) + ")");
  const size_t len = f.size_;
  io::register_file_mapping(p, len);  // lets release_mapped_pages drop its pages (weights.hpp)
  f.mapping_ = std::shared_ptr<const void>(p, [len](const void* q) {
    io::unregister_file_mapping(q);
    ::munmap(const_cast<void*>(q), len);
  });
  f.bytes_ = static_cast<const unsigned char*>(p);
  f.parse();
  return f;
}

SafeTensors SafeTensors::from_bytes(const void* bytes, size_t size, const std::string& label) {
  SafeTensors f;
  f.label_ = label;
  f.size_ = size;
  auto copy = aligned_bytes(size);
  if (size) std::memcpy(copy.get(), bytes, size);
  f.bytes_ = reinterpret_cast<const unsigned char*>(copy.get());
  f.mapping_ = std::shared_ptr<const void>(copy, copy.get());
  f.parse();
  return f;
}

void SafeTensors::parse() {
  const std::string& L = label_;
  if (size_ < 8) throw Error(L + ": truncated: " + std::to_string(size_) + " bytes, a safetensors file needs at least 8");
  uint64_t header_len = 0;
  for (int i = 7; i >= 0; --i) header_len = (header_len << 8) | bytes_[i];
  if (header_len > kMaxHeaderBytes)
    throw Error(L + ": header length " + std::to_string(header_len) + " is absurdly large (limit " +
                std::to_string(kMaxHeaderBytes) + ")");
  if (header_len > size_ - 8)
    throw Error(L + ": header length " + std::to_string(header_len) + " runs past the end of the file (" +
                std::to_string(size_) + " bytes)");
  const char* hdr = reinterpret_cast<const char*>(bytes_ + 8);
  data_ = bytes_ + 8 + header_len;
  data_size_ = size_ - 8 - header_len;

  // Duplicate names: nlohmann keeps the last duplicate silently, so watch the keys as they parse.
  std::set<std::string> top_keys;
  std::string duplicate;
  nlohmann::json::parser_callback_t cb = [&](int depth, nlohmann::json::parse_event_t ev, nlohmann::json& j) {
    if (ev == nlohmann::json::parse_event_t::key && depth == 1 && j.is_string()) {
      const auto& k = j.get_ref<const std::string&>();
      if (!top_keys.insert(k).second && duplicate.empty()) duplicate = k;
    }
    return true;
  };
  nlohmann::json header;
  try {
    header = nlohmann::json::parse(hdr, hdr + header_len, cb);
  } catch (const nlohmann::json::exception& e) {
    throw Error(L + ": header is not valid JSON (" + e.what() + ")");
  }
  if (!duplicate.empty()) throw Error(L + ": tensor '" + duplicate + "' appears twice in the header");
  if (!header.is_object()) throw Error(L + ": header must be a JSON object");

  std::vector<const TensorInfo*> by_offset;
  for (auto it = header.begin(); it != header.end(); ++it) {
    const std::string& name = it.key();
    const auto& v = it.value();
    if (name == "__metadata__") {
      if (!v.is_object()) throw Error(L + ": __metadata__ must be an object of strings");
      for (auto m = v.begin(); m != v.end(); ++m) {
        if (!m.value().is_string()) throw Error(L + ": __metadata__ value '" + m.key() + "' is not a string");
        metadata_[m.key()] = m.value().get<std::string>();
      }
      continue;
    }
    const std::string T = L + ": tensor '" + name + "'";
    if (!v.is_object()) throw Error(T + ": entry must be an object with dtype, shape, data_offsets");
    TensorInfo info;
    info.name = name;
    auto d = v.find("dtype");
    if (d == v.end() || !d->is_string()) throw Error(T + ": missing dtype");
    if (!parse_dtype(d->get<std::string>(), &info.dtype))
      throw Error(T + ": unsupported dtype " + d->dump() + " (expected F32, F16, BF16, F64, I64, I32 or U8)");
    auto s = v.find("shape");
    if (s == v.end() || !s->is_array()) throw Error(T + ": missing shape");
    if (s->size() > 16) throw Error(T + ": shape has " + std::to_string(s->size()) + " dimensions (at most 16)");
    uint64_t numel = 1;
    for (const auto& dim : *s) {
      if (!dim.is_number_unsigned()) throw Error(T + ": shape entries must be non-negative integers");
      const uint64_t n = dim.get<uint64_t>();
      // numel <= 2^60 keeps numel * dtype_size (<= 8) from overflowing below.
      if (n != 0 && numel > (uint64_t(1) << 60) / n) throw Error(T + ": shape " + s->dump() + " is too large");
      numel *= n;
      info.shape.push_back(int64_t(n));
    }
    auto o = v.find("data_offsets");
    if (o == v.end() || !o->is_array() || o->size() != 2 || !(*o)[0].is_number_unsigned() ||
        !(*o)[1].is_number_unsigned())
      throw Error(T + ": data_offsets must be [begin, end] with non-negative integers");
    const uint64_t b = (*o)[0].get<uint64_t>(), e = (*o)[1].get<uint64_t>();
    if (b > e || e > data_size_)
      throw Error(T + ": data_offsets [" + std::to_string(b) + ", " + std::to_string(e) +
                  "] out of range (data section is " + std::to_string(data_size_) + " bytes)");
    const uint64_t want = numel * dtype_size(info.dtype);
    if (e - b != want)
      throw Error(T + ": holds " + std::to_string(e - b) + " bytes, but " + dtype_name(info.dtype) + " x " +
                  shape_string(info.shape) + " needs " + std::to_string(want));
    info.begin = size_t(b);
    info.end = size_t(e);
    auto [pos, ok] = infos_.emplace(name, std::move(info));
    by_offset.push_back(&pos->second);
  }
  std::sort(by_offset.begin(), by_offset.end(), [](const TensorInfo* a, const TensorInfo* b) {
    return a->begin != b->begin ? a->begin < b->begin : a->end < b->end;
  });
  size_t prev_end = 0;
  const TensorInfo* prev = nullptr;
  for (const TensorInfo* t : by_offset) {
    if (prev && t->begin < prev_end && t->end > t->begin)
      throw Error(L + ": tensor '" + t->name + "' overlaps tensor '" + prev->name + "' in the data section");
    if (t->end > t->begin) {
      prev_end = std::max(prev_end, t->end);
      prev = t;
    }
    names_.push_back(t->name);
  }
}

const TensorInfo& SafeTensors::info(const std::string& name) const {
  auto it = infos_.find(name);
  if (it == infos_.end()) throw Error(label_ + ": no tensor named '" + name + "'");
  return it->second;
}

Tensor SafeTensors::get(const std::string& name) const {
  const TensorInfo& i = info(name);
  const unsigned char* p = data_ + i.begin;
  // The format does not promise alignment; kernels reading float*/int64_t* need it, so a
  // misaligned tensor is copied into aligned storage instead of viewed.
  if (reinterpret_cast<uintptr_t>(p) % dtype_size(i.dtype) != 0) {
    Tensor t(i.shape, i.dtype);
    if (t.nbytes()) std::memcpy(t.raw(), p, t.nbytes());
    return t;
  }
  return Tensor::view(i.shape, i.dtype, p, mapping_);
}

void save_safetensors(const std::filesystem::path& path, const std::map<std::string, Tensor>& tensors,
                      const std::map<std::string, std::string>& metadata) {
  nlohmann::json header = nlohmann::json::object();
  if (!metadata.empty()) header["__metadata__"] = metadata;
  size_t offset = 0;
  for (const auto& [name, t] : tensors) {
    header[name] = {{"dtype", dtype_name(t.dtype())}, {"shape", t.shape()}, {"data_offsets", {offset, offset + t.nbytes()}}};
    offset += t.nbytes();
  }
  std::string h = header.dump();
  while ((h.size() + 8) % 8 != 0) h.push_back(' ');
  AtomicFile out(path);
  unsigned char len[8];
  uint64_t n = h.size();
  for (int i = 0; i < 8; ++i) len[i] = uint8_t(n >> (8 * i));
  out.write(len, 8);
  out.write(h.data(), h.size());
  for (const auto& [name, t] : tensors) out.write(t.raw(), t.nbytes());
  out.commit();
}

}  // namespace sdwalk
