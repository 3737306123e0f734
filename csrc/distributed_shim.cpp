// torch.distributed's c10d from libtorch, which tch does not bind: a TCPStore
// rendezvous (under a PrefixStore), a ProcessGroupGloo, and the few collectives
// data-parallel training needs: bucketed gradient all-reduce, all-reduce of small
// tensors, broadcast of parameters, and the store's set/get for small messages.
// CUDA tensors go through host buffers: this is Gloo, not NCCL (see the README).
//
// Tensors arrive as tch's handles, which are `at::Tensor*`. Every function returns 0,
// or -1 with the exception's first line copied into `err` (a peer that died or timed
// out throws c10::DistBackendError). Every entry point runs without autograd: the
// collectives write into parameters and gradients in place.
#include <ATen/ATen.h>
#include <c10/core/GradMode.h>
#include <c10/util/Logging.h>
#include <torch/csrc/distributed/c10d/PrefixStore.hpp>
#include <torch/csrc/distributed/c10d/ProcessGroupGloo.hpp>
#include <torch/csrc/distributed/c10d/TCPStore.hpp>
#include <torch/csrc/distributed/c10d/reducer.hpp>

#include <chrono>
#include <cstdint>
#include <cstdlib>
#include <cstring>
#include <exception>
#include <string>
#include <vector>

#include "bertwork_shim.h"

namespace {

struct Group {
  c10::intrusive_ptr<c10d::Store> store;
  c10::intrusive_ptr<c10d::ProcessGroupGloo> gloo;
  int rank;
  int world;
  // The Gloo backend as a c10d::ProcessGroup, which the Reducer takes; made when the
  // first Reducer is.
  c10::intrusive_ptr<c10d::ProcessGroup> process_group;
};

std::vector<at::Tensor> deref(at::Tensor** tensors, int64_t n) {
  std::vector<at::Tensor> out;
  out.reserve(n);
  for (int64_t i = 0; i < n; ++i) {
    out.push_back(*tensors[i]);
  }
  return out;
}

// Consecutive runs of `tensors` (all of one dtype) of at most `bucket_bytes` each; a
// tensor larger than a bucket is a bucket of its own.
std::vector<std::vector<at::Tensor>> buckets(const std::vector<at::Tensor>& tensors,
                                             size_t bucket_bytes) {
  std::vector<std::vector<at::Tensor>> out;
  size_t filled = 0;
  for (const auto& t : tensors) {
    size_t bytes = t.numel() * t.element_size();
    if (out.empty() || filled + bytes > bucket_bytes ||
        out.back().front().scalar_type() != t.scalar_type()) {
      out.emplace_back();
      filled = 0;
    }
    out.back().push_back(t);
    filled += bytes;
  }
  return out;
}

// The tensors of `bucket` in one flat host buffer (Gloo is a CPU transport; for CPU
// tensors `to` returns the concatenation itself).
at::Tensor flatten_to_host(const std::vector<at::Tensor>& bucket) {
  std::vector<at::Tensor> flat_views;
  for (const auto& t : bucket) {
    flat_views.push_back(t.reshape({-1}));
  }
  return at::cat(flat_views).to(at::kCPU);
}

// Copies `flat` (as flatten_to_host laid it out) back into the tensors of `bucket`.
void copy_back(const at::Tensor& flat, std::vector<at::Tensor>& bucket) {
  int64_t offset = 0;
  for (auto& t : bucket) {
    int64_t k = t.numel();
    t.copy_(flat.narrow(0, offset, k).view(t.sizes()));
    offset += k;
  }
}

void wait_all(std::vector<c10::intrusive_ptr<c10d::Work>>& works) {
  for (auto& w : works) {
    w->wait();
  }
}

}  // namespace

// Joins the process group: rank `rank` of `world`. The store is a TCPStore at
// `host:port`, served by rank 0 unless `agent_store` (torchrun's agent serves it and
// every rank is a client); bertwork's keys live under `prefix`. Gloo binds to
// `host`'s loopback address when `loopback`, else to this machine's hostname (or the
// interface named by GLOO_SOCKET_IFNAME). `timeout_ms` bounds every collective and
// every store wait.
extern "C" int bertwork_dist_open(const char* host, uint16_t port, int rank, int world,
                                  int agent_store, const char* prefix, int loopback,
                                  int64_t timeout_ms, void** out, char* err,
                                  size_t err_len) {
  BERTWORK_PROTECT(-1, err, err_len, {
    // c10d logs its retries, timeouts and failed connections (with a C++ backtrace,
    // and the host name as given) on stderr, which would land on the workbench's
    // screen; every failure reaches bertwork as an exception, reported in one line.
    // TORCH_CPP_LOG_LEVEL, when set, decides instead.
    if (std::getenv("TORCH_CPP_LOG_LEVEL") == nullptr) {
      FLAGS_caffe2_log_level = 3;  // fatal only
    }
    auto timeout = std::chrono::milliseconds(timeout_ms);
    c10d::TCPStoreOptions opts;
    opts.port = port;
    opts.isServer = rank == 0 && agent_store == 0;
    opts.numWorkers = world;
    opts.waitWorkers = false;
    opts.timeout = timeout;
    auto tcp = c10::make_intrusive<c10d::TCPStore>(std::string(host), opts);
    auto store = c10::make_intrusive<c10d::PrefixStore>(std::string(prefix), tcp);
    auto options = c10d::ProcessGroupGloo::Options::create(timeout);
    const char* ifname = std::getenv("GLOO_SOCKET_IFNAME");
    if (loopback != 0) {
      options->devices.push_back(c10d::ProcessGroupGloo::createDeviceForHostname("127.0.0.1"));
    } else if (ifname != nullptr && ifname[0] != '\0') {
      options->devices.push_back(c10d::ProcessGroupGloo::createDeviceForInterface(ifname));
    } else {
      options->devices.push_back(c10d::ProcessGroupGloo::createDefaultDevice());
    }
    auto gloo = c10::make_intrusive<c10d::ProcessGroupGloo>(store, rank, world, options);
    *out = new Group{store, gloo, rank, world};
    return 0;
  })
}

extern "C" void bertwork_dist_close(void* group) {
  BERTWORK_PROTECT((void)0, nullptr, 0, { delete static_cast<Group*>(group); })
}

// Sums `n` tensors across ranks in place, then divides them by `divisor` (the world
// size for an average; 1 for a sum). Tensors go in buckets of at most `bucket_bytes`,
// one coalesced all-reduce each, all in flight at once (Gloo works on them in its own
// threads); the call returns when every bucket is done.
extern "C" int bertwork_dist_all_reduce(void* group, at::Tensor** tensors, int64_t n,
                                        int64_t bucket_bytes, double divisor, char* err,
                                        size_t err_len) {
  BERTWORK_PROTECT(-1, err, err_len, {
    c10::AutoGradMode no_grad(false);
    auto* g = static_cast<Group*>(group);
    std::vector<c10::intrusive_ptr<c10d::Work>> works;
    // Buckets of GPU tensors travel through one host buffer each (Gloo is a CPU
    // transport); `staged` keeps (host buffer, its tensors) to copy back.
    std::vector<std::pair<at::Tensor, std::vector<at::Tensor>>> staged;
    for (auto& bucket : buckets(deref(tensors, n), static_cast<size_t>(bucket_bytes))) {
      if (bucket.front().is_cuda()) {
        std::vector<at::Tensor> host{flatten_to_host(bucket)};
        works.push_back(g->gloo->allreduce(host));
        staged.emplace_back(host[0], bucket);
      } else {
        works.push_back(g->gloo->allreduce_coalesced(bucket));
      }
    }
    wait_all(works);
    for (auto& [host, bucket] : staged) {
      copy_back(host, bucket);
    }
    if (divisor != 1.0) {
      for (int64_t i = 0; i < n; ++i) {
        tensors[i]->div_(divisor);
      }
    }
    return 0;
  })
}

// Overwrites `n` tensors on every rank with rank `root`'s values: each bucket is
// flattened into one buffer, broadcast, and copied back.
extern "C" int bertwork_dist_broadcast(void* group, at::Tensor** tensors, int64_t n,
                                       int root, int64_t bucket_bytes, char* err,
                                       size_t err_len) {
  BERTWORK_PROTECT(-1, err, err_len, {
    c10::AutoGradMode no_grad(false);
    auto* g = static_cast<Group*>(group);
    c10d::BroadcastOptions opts;
    opts.rootRank = root;
    for (auto& bucket : buckets(deref(tensors, n), static_cast<size_t>(bucket_bytes))) {
      std::vector<at::Tensor> flat{flatten_to_host(bucket)};
      g->gloo->broadcast(flat, opts)->wait();
      copy_back(flat[0], bucket);
    }
    return 0;
  })
}

// Sets `key` in the store to `len` bytes.
extern "C" int bertwork_dist_store_set(void* group, const char* key, const uint8_t* value,
                                       size_t len, char* err, size_t err_len) {
  BERTWORK_PROTECT(-1, err, err_len, {
    auto* g = static_cast<Group*>(group);
    g->store->set(std::string(key), std::vector<uint8_t>(value, value + len));
    return 0;
  })
}

// Waits up to `timeout_ms` for `key`, then returns its bytes in a buffer the caller
// frees with bertwork_dist_free.
extern "C" int bertwork_dist_store_get(void* group, const char* key, int64_t timeout_ms,
                                       uint8_t** out, size_t* out_len, char* err,
                                       size_t err_len) {
  BERTWORK_PROTECT(-1, err, err_len, {
    auto* g = static_cast<Group*>(group);
    std::vector<std::string> keys{std::string(key)};
    g->store->wait(keys, std::chrono::milliseconds(timeout_ms));
    std::vector<uint8_t> value = g->store->get(keys[0]);
    *out_len = value.size();
    *out = static_cast<uint8_t*>(std::malloc(value.empty() ? 1 : value.size()));
    if (!value.empty()) {
      std::memcpy(*out, value.data(), value.size());
    }
    return 0;
  })
}

extern "C" void bertwork_dist_free(uint8_t* buffer) {
  BERTWORK_PROTECT((void)0, nullptr, 0, { std::free(buffer); })
}

// DistributedDataParallel's core for `n` parameters (every one must receive a
// gradient in each backward it reduces): buckets of at most `bucket_bytes` (the first
// of at most 1 MiB, as DDP), each all-reduced by an autograd hook as soon as its
// gradients are ready during backward, averaged over the ranks and written to `.grad`
// when backward ends. Returns the Reducer in `out`.
extern "C" int bertwork_dist_reducer_new(void* group, at::Tensor** params, int64_t n,
                                         int64_t bucket_bytes, void** out, char* err,
                                         size_t err_len) {
  BERTWORK_PROTECT(-1, err, err_len, {
    auto* g = static_cast<Group*>(group);
    if (!g->process_group) {
      auto pg = c10::make_intrusive<c10d::ProcessGroup>(g->store, g->rank, g->world);
      pg->setBackend(c10::DeviceType::CPU, c10d::ProcessGroup::BackendType::GLOO, g->gloo);
      pg->setBackend(c10::DeviceType::CUDA, c10d::ProcessGroup::BackendType::GLOO, g->gloo);
      pg->setDefaultBackend(c10d::ProcessGroup::BackendType::GLOO);
      g->process_group = pg;
    }
    std::vector<at::Tensor> tensors = deref(params, n);
    const size_t first = std::min<size_t>(1 << 20, static_cast<size_t>(bucket_bytes));
    auto [indices, per_bucket] = c10d::compute_bucket_assignment_by_size(
        tensors, {first, static_cast<size_t>(bucket_bytes)});
    (void)per_bucket;
    *out = new c10d::Reducer(tensors, indices, g->process_group,
                             std::vector<bool>(tensors.size(), false), bucket_bytes,
                             /*find_unused_parameters=*/false,
                             /*gradient_as_bucket_view=*/false, {},
                             static_cast<int64_t>(first),
                             /*skip_all_reduce_unused_params=*/false,
                             /*use_python_reducer=*/false, {});
    return 0;
  })
}

// Arms the Reducer for the next backward (DDP's forward does this): call before the
// backward whose gradients are to be averaged; a backward without it accumulates
// locally (DDP's no_sync).
extern "C" int bertwork_dist_reducer_prepare(void* reducer, at::Tensor* loss, char* err,
                                             size_t err_len) {
  BERTWORK_PROTECT(-1, err, err_len, {
    auto* r = static_cast<c10d::Reducer*>(reducer);
    r->prepare_for_forward();
    r->prepare_for_backward({*loss});
    return 0;
  })
}

// The Reducer's destructor may throw (noexcept(false)); nothing to do then.
extern "C" void bertwork_dist_reducer_free(void* reducer) {
  BERTWORK_PROTECT((void)0, nullptr, 0, { delete static_cast<c10d::Reducer*>(reducer); })
}
