// libtorch's multi-tensor optimizer kernels, which tch does not expose (they take and
// return tensor lists): AdamW as one fused pass over every parameter
// (`_fused_adamw_`, what torch.optim.AdamW(fused=True) calls), the global gradient
// norm as one `_foreach_norm`, clipping as one `_foreach_mul_`, and dropping gradients
// (PyTorch's `zero_grad(set_to_none=True)`).
//
// Tensors arrive as tch's handles, which are `at::Tensor*`. Every function returns 0,
// or -1 with libtorch's message copied into `err` (at most `err_len` bytes, NUL
// terminated).
#include <ATen/ATen.h>
#include <c10/core/GradMode.h>

#include <cstdint>
#include "bertwork_shim.h"
#include <exception>
#include <vector>

namespace {

// The parameters (and their states) whose gradient is defined.
struct WithGrad {
  std::vector<at::Tensor> params, grads, exp_avgs, exp_avg_sqs;
};

WithGrad with_grad(at::Tensor** params, at::Tensor** exp_avgs, at::Tensor** exp_avg_sqs,
                   int64_t n) {
  WithGrad out;
  for (int64_t i = 0; i < n; ++i) {
    const at::Tensor& grad = params[i]->grad();
    if (!grad.defined()) {
      continue;
    }
    out.params.push_back(*params[i]);
    out.grads.push_back(grad);
    if (exp_avgs != nullptr) {
      out.exp_avgs.push_back(*exp_avgs[i]);
      out.exp_avg_sqs.push_back(*exp_avg_sqs[i]);
    }
  }
  return out;
}

}  // namespace

// One AdamW step (Loshchilov & Hutter, decoupled decay `param *= 1 - lr * weight_decay`)
// for `n` parameters sharing one weight decay; `step` is the step count after this
// step (1 for the first), from which the kernel takes the bias corrections.
extern "C" int bertwork_fused_adamw(at::Tensor** params, at::Tensor** exp_avgs,
                                    at::Tensor** exp_avg_sqs, int64_t n, double step,
                                    double lr, double beta1, double beta2,
                                    double weight_decay, double eps, char* err,
                                    size_t err_len) {
  BERTWORK_PROTECT(-1, err, err_len, {
    c10::AutoGradMode no_grad(false);
    WithGrad g = with_grad(params, exp_avgs, exp_avg_sqs, n);
    if (g.params.empty()) {
      return 0;
    }
    // The kernel only reads the step, so one tensor serves every parameter.
    at::Tensor steps = at::full({}, step, g.params[0].options().dtype(at::kFloat));
    std::vector<at::Tensor> state_steps(g.params.size(), steps);
    at::_fused_adamw_(g.params, g.grads, g.exp_avgs, g.exp_avg_sqs, {}, state_steps, lr,
                      beta1, beta2, weight_decay, eps, /*amsgrad=*/false,
                      /*maximize=*/false);
    return 0;
  })
}

// The 2-norm of all gradients together, computed in float32 (0 when none is defined).
extern "C" int bertwork_grad_norm(at::Tensor** params, int64_t n, double* out, char* err,
                                  size_t err_len) {
  BERTWORK_PROTECT(-1, err, err_len, {
    c10::AutoGradMode no_grad(false);
    WithGrad g = with_grad(params, nullptr, nullptr, n);
    if (g.grads.empty()) {
      *out = 0.0;
      return 0;
    }
    std::vector<at::Tensor> norms = at::_foreach_norm(g.grads, 2, at::kFloat);
    *out = at::stack(norms).norm().item<double>();
    return 0;
  })
}

// Multiplies every defined gradient by `scale` in place.
extern "C" int bertwork_scale_grads(at::Tensor** params, int64_t n, double scale, char* err,
                                    size_t err_len) {
  BERTWORK_PROTECT(-1, err, err_len, {
    c10::AutoGradMode no_grad(false);
    WithGrad g = with_grad(params, nullptr, nullptr, n);
    if (!g.grads.empty()) {
      at::_foreach_mul_(g.grads, scale);
    }
    return 0;
  })
}

// Drops every gradient, so the next backward writes fresh ones instead of adding to
// zeros.
extern "C" int bertwork_drop_grads(at::Tensor** params, int64_t n, char* err,
                                   size_t err_len) {
  BERTWORK_PROTECT(-1, err, err_len, {
    for (int64_t i = 0; i < n; ++i) {
      params[i]->mutable_grad().reset();
    }
    return 0;
  })
}
