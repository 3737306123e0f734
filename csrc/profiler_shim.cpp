// libtorch's profiler (Kineto, CPU activities), which tch does not expose, for
// `bertwork bench --profile`: start it, then stop it and write its Chrome trace
// (the JSON that chrome://tracing and Perfetto read). Both return 0, or -1 with
// libtorch's message copied into `err` (first line, NUL terminated).
#include <torch/csrc/autograd/profiler_kineto.h>

#include "bertwork_shim.h"
#include <exception>
#include <set>
#include <string>

namespace {

namespace prof = torch::autograd::profiler;


const std::set<torch::profiler::impl::ActivityType> kCpu{
    torch::profiler::impl::ActivityType::CPU};

}  // namespace

extern "C" int bertwork_profiler_start(char* err, size_t err_len) {
  BERTWORK_PROTECT(-1, err, err_len, {
    const torch::profiler::impl::ProfilerConfig config(
        torch::profiler::impl::ProfilerState::KINETO, /*report_input_shapes=*/true);
    prof::prepareProfiler(config, kCpu);
    prof::enableProfiler(config, kCpu);
    return 0;
  })
}

extern "C" int bertwork_profiler_stop(const char* trace_path, char* err, size_t err_len) {
  BERTWORK_PROTECT(-1, err, err_len, {
    std::unique_ptr<prof::ProfilerResult> result = prof::disableProfiler();
    result->save(trace_path);
    return 0;
  })
}
