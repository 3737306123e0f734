// What tch does not expose. GPU memory figures: the caching allocator's allocated and
// reserved bytes (current and peak) and the device's free/total memory, through
// libtorch's device-generic accelerator API. Returns 0 on success, -1 when there is no
// accelerator (a CPU-only run) or libtorch throws.
#include <ATen/DeviceAccelerator.h>

#include <c10/util/Exception.h>

#include <cstdint>
#include <cstdlib>

#include "bertwork_shim.h"

extern "C" int bertwork_device_memory(int device, int64_t* out) {
  BERTWORK_PROTECT(-1, nullptr, 0, {
    if (!at::accelerator::getAccelerator(false).has_value()) {
      return -1;
    }
    const auto index = static_cast<c10::DeviceIndex>(device);
    const auto stats = at::accelerator::getDeviceStats(index);
    const auto all = static_cast<size_t>(c10::CachingAllocator::StatType::AGGREGATE);
    out[0] = stats.allocated_bytes[all].current;
    out[1] = stats.allocated_bytes[all].peak;
    out[2] = stats.reserved_bytes[all].current;
    out[3] = stats.reserved_bytes[all].peak;
    const auto info = at::accelerator::getMemoryInfo(index);  // (free, total)
    out[4] = static_cast<int64_t>(info.first);
    out[5] = static_cast<int64_t>(info.second);
    return 0;
  })
}

// Mixed precision on CUDA: the dtype autocast uses (bf16 instead of fp16) and whether
// float32 matmuls and convolutions may use TF32. Returns 0, or -1 if libtorch throws.
#include <ATen/Context.h>
#include <ATen/autocast_mode.h>

extern "C" int bertwork_cuda_precision(int bf16, int tf32) {
  BERTWORK_PROTECT(-1, nullptr, 0, {
    if (bf16) {
      at::autocast::set_autocast_dtype(at::kCUDA, at::kBFloat16);
    }
    at::globalContext().setFloat32MatmulPrecision(tf32 ? "high" : "highest");
    at::globalContext().setAllowTF32CuDNN(tf32 != 0);
    return 0;
  })
}

// Autocast on CPU (tch's `autocast` only switches CUDA's): turns bf16 autocast for
// CPU ops on (`enabled` 1) or off (0), keeping the nesting count and dropping the
// cast-weight cache when the outermost region ends, as torch.autocast does. Returns
// whether it was on before, or -1 if libtorch throws.
extern "C" int bertwork_cpu_autocast(int enabled) {
  BERTWORK_PROTECT(-1, nullptr, 0, {
    const bool before = at::autocast::is_autocast_enabled(at::kCPU);
    if (enabled) {
      at::autocast::set_autocast_dtype(at::kCPU, at::kBFloat16);
      at::autocast::set_autocast_enabled(at::kCPU, true);
      at::autocast::increment_nesting();
    } else {
      at::autocast::set_autocast_enabled(at::kCPU, false);
      if (at::autocast::decrement_nesting() == 0) {
        at::autocast::clear_cache();
      }
    }
    return before ? 1 : 0;
  })
}

namespace {
// Drops libtorch's warnings (TORCH_WARN): they are written raw on stderr, which lands on
// the workbench's screen or between headless lines (the sparse CSR tensors of the
// downstream baseline warn that CSR support is in beta, for one).
class DropWarnings : public c10::WarningHandler {
 public:
  void process(const c10::Warning&) override {}
};
}  // namespace

// Installs the dropping handler on the calling thread (libtorch's warning handler is
// thread-local), unless TORCH_CPP_LOG_LEVEL is set (the same opt-in c10d's logs
// follow).
extern "C" void bertwork_quiet_warnings() {
  BERTWORK_PROTECT((void)0, nullptr, 0, {
    if (std::getenv("TORCH_CPP_LOG_LEVEL") != nullptr) {
      return;
    }
    static DropWarnings drop;
    c10::WarningUtils::set_warning_handler(&drop);
  })
}
