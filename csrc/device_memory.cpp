// GPU memory figures that tch does not expose: the caching allocator's allocated and
// reserved bytes (current and peak) and the device's free/total memory, through
// libtorch's device-generic accelerator API. Returns 0 on success, -1 when there is no
// accelerator (a CPU-only run) or libtorch throws.
#include <ATen/DeviceAccelerator.h>

#include <cstdint>

extern "C" int bertwork_device_memory(int device, int64_t* out) {
  try {
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
  } catch (...) {
    return -1;
  }
}
