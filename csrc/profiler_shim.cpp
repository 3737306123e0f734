// libtorch's profiler (Kineto, CPU activities), which tch does not expose, for
// `bertwork bench --profile`: start it, then stop it and write its Chrome trace
// (the JSON that chrome://tracing and Perfetto read). Both return 0, or -1 with
// libtorch's message copied into `err` (first line, NUL terminated).
#include <torch/csrc/autograd/profiler_kineto.h>

#include <cstring>
#include <exception>
#include <set>
#include <string>

namespace {

namespace prof = torch::autograd::profiler;

void copy_first_line(const std::exception& e, char* err, size_t err_len) {
  if (err == nullptr || err_len == 0) {
    return;
  }
  const char* what = e.what();
  size_t n = std::strcspn(what, "\n");
  if (n >= err_len) {
    n = err_len - 1;
  }
  std::memcpy(err, what, n);
  err[n] = '\0';
}

const std::set<torch::profiler::impl::ActivityType> kCpu{
    torch::profiler::impl::ActivityType::CPU};

}  // namespace

extern "C" int bertwork_profiler_start(char* err, size_t err_len) {
  try {
    const torch::profiler::impl::ProfilerConfig config(
        torch::profiler::impl::ProfilerState::KINETO, /*report_input_shapes=*/true);
    prof::prepareProfiler(config, kCpu);
    prof::enableProfiler(config, kCpu);
    return 0;
  } catch (const std::exception& e) {
    copy_first_line(e, err, err_len);
    return -1;
  }
}

extern "C" int bertwork_profiler_stop(const char* trace_path, char* err, size_t err_len) {
  try {
    std::unique_ptr<prof::ProfilerResult> result = prof::disableProfiler();
    result->save(trace_path);
    return 0;
  } catch (const std::exception& e) {
    copy_first_line(e, err, err_len);
    return -1;
  }
}
