// bertwork's C++ shims: every entry point the Rust side calls (declared again, with
// the same names and parameters, in src/ffi.rs; a unit test there compares the two),
// and the one convention that guards them.
//
// Error conventions. A function with an error buffer (`err`, `err_len`) returns 0, or
// -1 with the first line of the exception's message (the rest is libtorch's C++
// backtrace) copied into `err`, NUL terminated. The device functions, which have no
// buffer, return -1 on failure. The functions returning void swallow the failure.
// No exception ever leaves a shim: one crossing `extern "C"` into Rust is undefined
// behaviour, so every body runs inside BERTWORK_PROTECT, which also catches what is
// not a std::exception.
//
// Tensors arrive as tch's handles, which are `at::Tensor*`; C sees them as an opaque
// struct.
#pragma once

#include <stddef.h>
#include <stdint.h>

#ifdef __cplusplus
namespace at {
class Tensor;
}
typedef at::Tensor bertwork_tensor;
extern "C" {
#else
typedef struct bertwork_tensor bertwork_tensor;
#endif

// device_shim.cpp
int bertwork_device_memory(int device, int64_t* out);
int bertwork_cuda_precision(int bf16, int tf32);
int bertwork_cpu_autocast(int enabled);
void bertwork_quiet_warnings(void);

// optimizer_shim.cpp
int bertwork_fused_adamw(bertwork_tensor** params, bertwork_tensor** exp_avgs,
                         bertwork_tensor** exp_avg_sqs, int64_t n, double step, double lr,
                         double beta1, double beta2, double weight_decay, double eps,
                         char* err, size_t err_len);
int bertwork_grad_norm(bertwork_tensor** params, int64_t n, double* out, char* err,
                       size_t err_len);
int bertwork_scale_grads(bertwork_tensor** params, int64_t n, double scale, char* err,
                         size_t err_len);
int bertwork_drop_grads(bertwork_tensor** params, int64_t n, char* err, size_t err_len);

// profiler_shim.cpp
int bertwork_profiler_start(char* err, size_t err_len);
int bertwork_profiler_stop(const char* trace_path, char* err, size_t err_len);

// distributed_shim.cpp
int bertwork_dist_open(const char* host, uint16_t port, int rank, int world,
                       int agent_store, const char* prefix, int loopback, int64_t timeout_ms,
                       void** out, char* err, size_t err_len);
void bertwork_dist_close(void* group);
int bertwork_dist_all_reduce(void* group, bertwork_tensor** tensors, int64_t n,
                             int64_t bucket_bytes, double divisor, char* err,
                             size_t err_len);
int bertwork_dist_broadcast(void* group, bertwork_tensor** tensors, int64_t n, int root,
                            int64_t bucket_bytes, char* err, size_t err_len);
int bertwork_dist_store_set(void* group, const char* key, const uint8_t* value, size_t len,
                            char* err, size_t err_len);
int bertwork_dist_store_get(void* group, const char* key, int64_t timeout_ms, uint8_t** out,
                            size_t* out_len, char* err, size_t err_len);
void bertwork_dist_free(uint8_t* buffer);
int bertwork_dist_reducer_new(void* group, bertwork_tensor** params, int64_t n,
                              int64_t bucket_bytes, void** out, char* err, size_t err_len);
int bertwork_dist_reducer_prepare(void* reducer, bertwork_tensor* loss, char* err,
                                  size_t err_len);
void bertwork_dist_reducer_free(void* reducer);

#ifdef __cplusplus
}  // extern "C"

#include <cstring>
#include <exception>

// Copies the first line of `message` into `err` (at most `err_len` bytes, NUL
// terminated); does nothing without a buffer.
inline void bertwork_copy_first_line(const char* message, char* err, size_t err_len) {
  if (err == nullptr || err_len == 0) {
    return;
  }
  size_t n = std::strcspn(message, "\n");
  if (n >= err_len) {
    n = err_len - 1;
  }
  std::memcpy(err, message, n);
  err[n] = '\0';
}

// Runs the statements that follow (the entry point's body) so that no exception leaves
// it: a std::exception's first line, or a fixed message for anything else thrown, is
// copied into `err` (nullptr and 0 for a shim without a buffer), then the function
// returns `on_error` (`(void)0` in a function returning void).
#define BERTWORK_PROTECT(on_error, err, err_len, ...)                                   \
  try {                                                                                 \
    __VA_ARGS__                                                                         \
  } catch (const std::exception& bertwork_e) {                                          \
    bertwork_copy_first_line(bertwork_e.what(), (err), (err_len));                      \
    return on_error;                                                                    \
  } catch (...) {                                                                       \
    bertwork_copy_first_line("a C++ exception that is not a std::exception", (err),     \
                             (err_len));                                                \
    return on_error;                                                                    \
  }
#endif
