// libFuzzer target for the safetensors reader: any byte string either parses into tensors whose
// views lie inside the input, or raises sdwalk::Error. Crashes, out-of-bounds reads (ASan),
// undefined behaviour (UBSan) and other exception types are findings.
#include <cstddef>
#include <cstdint>
#include <cstring>

#include "sdwalk/error.hpp"
#include "sdwalk/safetensors.hpp"

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
  try {
    const sdwalk::SafeTensors f = sdwalk::SafeTensors::from_bytes(data, size, "fuzz.safetensors");
    size_t total = 0;
    for (const auto& name : f.names()) {
      const sdwalk::TensorInfo& info = f.info(name);
      const sdwalk::Tensor t = f.get(name);
      // The view must cover exactly the declared bytes, all inside the input.
      if (t.nbytes() != info.end - info.begin || info.end > size) __builtin_trap();
      total += t.nbytes();
      // Touch every byte (ASan checks each read).
      const auto* p = static_cast<const unsigned char*>(t.raw());
      unsigned sum = 0;
      for (size_t i = 0; i < t.nbytes(); ++i) sum += p[i];
      // Conversion to f32 reads elements through their typed pointers.
      if (t.nbytes() <= (1u << 16)) {
        const sdwalk::Tensor c = t.to_f32();
        if (c.numel() != t.numel()) __builtin_trap();
      }
      volatile unsigned sink = sum;
      (void)sink;
    }
    if (total > size) __builtin_trap();  // tensors never overlap, so their bytes fit in the file
    for (const auto& [k, v] : f.metadata()) {
      volatile size_t sink = k.size() + v.size();
      (void)sink;
    }
  } catch (const sdwalk::Error&) {
    // A clear error is the expected answer to a malformed file.
  }
  return 0;
}
