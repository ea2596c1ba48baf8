#include "roi_pool.h"

#include <ATen/ATen.h>
#include <ATen/Parallel.h>
#include <torch/csrc/autograd/custom_function.h>

#include <algorithm>
#include <cfloat>
#include <cmath>

namespace ohem {
namespace {

// The batch index of every RoI, checked against N once so the kernels never index out of range.
std::vector<int64_t> batch_indices(const float* rois, int64_t count, int64_t n) {
  std::vector<int64_t> batch(static_cast<size_t>(count));
  for (int64_t r = 0; r < count; ++r) {
    const float b = rois[5 * r];
    TORCH_CHECK(std::isfinite(b) && b >= 0.0f && b < static_cast<float>(n),
                "rois[", r, ", 0] (batch index) is ", b, "; expected 0..", n - 1);
    batch[static_cast<size_t>(r)] = static_cast<int64_t>(b);
  }
  return batch;
}

void check_inputs(const at::Tensor& features, const at::Tensor& rois, int64_t pooled_h, int64_t pooled_w) {
  TORCH_CHECK(features.dim() == 4 && features.scalar_type() == at::kFloat,
              "features must be float32 [N, C, H, W]; got ", features.scalar_type(), " ", features.sizes());
  TORCH_CHECK(rois.dim() == 2 && rois.size(1) == 5 && rois.scalar_type() == at::kFloat,
              "rois must be float32 [R, 5]; got ", rois.scalar_type(), " ", rois.sizes());
  TORCH_CHECK(pooled_h >= 1 && pooled_w >= 1, "pooled size must be at least 1x1; got ", pooled_h, "x", pooled_w);
}

// One axis of one RoI's bins: bin p covers [first[p], last[p]) of [0, extent).
struct BinEdges {
  std::vector<int64_t> first, last;
};

// Contract (ONNX MaxRoiPool as ONNX Runtime's CPU kernel computes it, in float32), per axis:
//   start = round(x1 * scale), end = round(x2 * scale)   (std::round: half away from zero)
//   roi size = max(end - start + 1, 1);  bin = roi size / pooled size  (float division)
//   bin p covers [floor(p * bin), ceil((p + 1) * bin)) + start, clipped to [0, extent]
BinEdges bin_edges(float from, float to, float scale, int64_t pooled, int64_t extent) {
  const int start = static_cast<int>(std::round(from * scale));
  const int end = static_cast<int>(std::round(to * scale));
  const float bin = static_cast<float>(std::max(end - start + 1, 1)) / static_cast<float>(pooled);
  BinEdges edges{std::vector<int64_t>(static_cast<size_t>(pooled)), std::vector<int64_t>(static_cast<size_t>(pooled))};
  for (int64_t p = 0; p < pooled; ++p) {
    edges.first[p] = std::clamp<int64_t>(static_cast<int64_t>(std::floor(static_cast<float>(p) * bin)) + start, 0, extent);
    edges.last[p] = std::clamp<int64_t>(static_cast<int64_t>(std::ceil(static_cast<float>(p + 1) * bin)) + start, 0, extent);
  }
  return edges;
}

// Contract: output[r, c, ph, pw] = max of the bin's elements of channel c (bin_edges), 0 for an
// empty bin; the first maximum in row-major order wins ('>' scan from -FLT_MAX, as ONNX Runtime).
// argmax (optional) = y * W + x of that maximum within the (n, c) plane, -1 for an empty bin.
// Features come channels-last [N, H, W, C], so each step is a running max over C contiguous
// floats (written branch-free so the compiler vectorises it); same comparisons, same result.
void pool_rois(const float* channels_last, const float* rois, const int64_t* batch, int64_t first, int64_t last,
               int64_t channels, int64_t height, int64_t width, int64_t pooled_h, int64_t pooled_w,
               float scale, float* output, int32_t* argmax) {
  const int64_t bins = pooled_h * pooled_w;
  std::vector<float> max(static_cast<size_t>(bins * channels));  // [bin, C] of one RoI
  std::vector<int32_t> at(static_cast<size_t>(bins * channels));
  for (int64_t r = first; r < last; ++r) {
    const float* roi = rois + 5 * r;
    const auto rows = bin_edges(roi[2], roi[4], scale, pooled_h, height);
    const auto cols = bin_edges(roi[1], roi[3], scale, pooled_w, width);
    const float* image = channels_last + batch[r] * height * width * channels;
    for (int64_t ph = 0; ph < pooled_h; ++ph) {
      for (int64_t pw = 0; pw < pooled_w; ++pw) {
        float* m = max.data() + (ph * pooled_w + pw) * channels;
        int32_t* a = at.data() + (ph * pooled_w + pw) * channels;
        const bool empty = rows.last[ph] <= rows.first[ph] || cols.last[pw] <= cols.first[pw];
        std::fill(m, m + channels, empty ? 0.0f : -FLT_MAX);
        std::fill(a, a + channels, -1);
        for (int64_t y = rows.first[ph]; y < rows.last[ph]; ++y) {
          for (int64_t x = cols.first[pw]; x < cols.last[pw]; ++x) {
            const float* v = image + (y * width + x) * channels;
            const int32_t index = static_cast<int32_t>(y * width + x);
            for (int64_t c = 0; c < channels; ++c) {
              const bool greater = v[c] > m[c];
              m[c] = greater ? v[c] : m[c];
              a[c] = greater ? index : a[c];
            }
          }
        }
      }
    }
    // [bin, C] -> [C, bin]: the output's layout (and the order ONNX's Flatten reads).
    for (int64_t c = 0; c < channels; ++c) {
      for (int64_t b = 0; b < bins; ++b) {
        output[(r * channels + c) * bins + b] = max[b * channels + c];
        if (argmax != nullptr) {
          argmax[(r * channels + c) * bins + b] = at[b * channels + c];
        }
      }
    }
  }
}

// Contract: grad_features[b(r), c, argmax[r, c, p]] += grad_output[r, c, p] for every RoI r, channel
// c and bin p with an argmax (an empty bin passes no gradient). RoIs of one image overlap, so two
// RoIs may add to the same element: threads split channels, and each (n, c) plane is written by one
// thread only, in RoI order (deterministic sums).
void scatter_channels(const float* grad_output, const int32_t* argmax, const int64_t* batch, int64_t rois,
                      int64_t first, int64_t last, int64_t channels, int64_t plane_size, int64_t bins,
                      float* grad_features) {
  for (int64_t c = first; c < last; ++c) {
    for (int64_t r = 0; r < rois; ++r) {
      const float* grad = grad_output + (r * channels + c) * bins;
      const int32_t* arg = argmax + (r * channels + c) * bins;
      float* plane = grad_features + (batch[r] * channels + c) * plane_size;
      for (int64_t p = 0; p < bins; ++p) {
        if (arg[p] >= 0) {
          plane[arg[p]] += grad[p];
        }
      }
    }
  }
}

struct RoiMaxPoolFunction : public torch::autograd::Function<RoiMaxPoolFunction> {
  static at::Tensor forward(torch::autograd::AutogradContext* ctx, const at::Tensor& features, const at::Tensor& rois,
                            int64_t pooled_h, int64_t pooled_w, double spatial_scale) {
    auto [output, argmax] = roi_max_pool_forward(features, rois, pooled_h, pooled_w,
                                                 static_cast<float>(spatial_scale), /*with_argmax=*/true);
    ctx->save_for_backward({argmax, rois});
    ctx->saved_data["features_shape"] = features.sizes().vec();
    return output;
  }

  static torch::autograd::variable_list backward(torch::autograd::AutogradContext* ctx,
                                                 torch::autograd::variable_list grad_outputs) {
    const auto saved = ctx->get_saved_variables();
    const auto shape = ctx->saved_data["features_shape"].toIntVector();
    auto grad_features = roi_max_pool_backward(grad_outputs[0], saved[0], saved[1], shape);
    // No gradient for rois, the pooled size or the scale.
    return {grad_features, at::Tensor(), at::Tensor(), at::Tensor(), at::Tensor()};
  }
};

}  // namespace

std::tuple<at::Tensor, at::Tensor> roi_max_pool_forward(const at::Tensor& features_in, const at::Tensor& rois_in,
                                                        int64_t pooled_h, int64_t pooled_w,
                                                        float spatial_scale, bool with_argmax) {
  check_inputs(features_in, rois_in, pooled_h, pooled_w);
  const auto features = features_in.contiguous();
  const auto rois = rois_in.contiguous();
  const int64_t count = rois.size(0), channels = features.size(1), height = features.size(2), width = features.size(3);
  TORCH_CHECK(height * width <= INT32_MAX, "a feature plane has more than 2^31 elements");
  const auto batch = batch_indices(rois.data_ptr<float>(), count, features.size(0));
  auto output = at::empty({count, channels, pooled_h, pooled_w}, features.options());
  at::Tensor argmax;
  if (with_argmax) {
    argmax = at::empty({count, channels, pooled_h, pooled_w}, features.options().dtype(at::kInt));
  }

  const auto channels_last = features.permute({0, 2, 3, 1}).contiguous();
  const float* f = channels_last.data_ptr<float>();
  const float* r = rois.data_ptr<float>();
  float* out = output.data_ptr<float>();
  int32_t* arg = with_argmax ? argmax.data_ptr<int32_t>() : nullptr;
  // A RoI costs about C * (its area on the map) reads; a few per task keep the scheduling overhead small.
  at::parallel_for(0, count, 4, [&](int64_t first, int64_t last) {
    pool_rois(f, r, batch.data(), first, last, channels, height, width, pooled_h, pooled_w, spatial_scale, out, arg);
  });
  return {output, argmax};
}

at::Tensor roi_max_pool_backward(const at::Tensor& grad_output_in, const at::Tensor& argmax_in,
                                 const at::Tensor& rois_in, const std::vector<int64_t>& features_shape) {
  TORCH_CHECK(features_shape.size() == 4, "features shape must have 4 dimensions");
  const auto grad_output = grad_output_in.contiguous().to(at::kFloat);
  const auto argmax = argmax_in.contiguous();
  const auto rois = rois_in.contiguous();
  const int64_t count = rois.size(0), channels = features_shape[1];
  const int64_t plane_size = features_shape[2] * features_shape[3];
  const int64_t bins = count == 0 ? 0 : grad_output.numel() / (count * channels);
  TORCH_CHECK(grad_output.sizes() == argmax.sizes() && grad_output.size(0) == count && grad_output.size(1) == channels,
              "grad_output ", grad_output.sizes(), " does not match argmax ", argmax.sizes());
  const auto batch = batch_indices(rois.data_ptr<float>(), count, features_shape[0]);
  auto grad_features = at::zeros(features_shape, grad_output.options());

  const float* g = grad_output.data_ptr<float>();
  const int32_t* a = argmax.data_ptr<int32_t>();
  float* out = grad_features.data_ptr<float>();
  at::parallel_for(0, channels, 1, [&](int64_t first, int64_t last) {
    scatter_channels(g, a, batch.data(), count, first, last, channels, plane_size, bins, out);
  });
  return grad_features;
}

at::Tensor roi_max_pool(const at::Tensor& features, const at::Tensor& rois,
                        int64_t pooled_h, int64_t pooled_w, float spatial_scale) {
  if (!c10::GradMode::is_enabled() || !features.requires_grad()) {
    // Nothing will call the backward (inference): skip the argmax and the autograd node.
    return std::get<0>(roi_max_pool_forward(features, rois, pooled_h, pooled_w, spatial_scale, /*with_argmax=*/false));
  }
  return RoiMaxPoolFunction::apply(features, rois, pooled_h, pooled_w, static_cast<double>(spatial_scale));
}

}  // namespace ohem
