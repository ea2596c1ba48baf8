// RoI max pooling exactly as ONNX MaxRoiPool (ONNX Runtime's CPU kernel): the trainer must pool
// like the miner's scoring model, or the miner scores a different network.
#pragma once

#include <ATen/core/Tensor.h>

#include <cstdint>
#include <tuple>
#include <vector>

namespace ohem {

// features float32 [N, C, H, W], rois float32 [R, 5] (batch index, x1, y1, x2, y2) in image
// pixels -> [R, C, pooled_h, pooled_w]. Differentiable in features (not in rois): the gradient
// of a bin goes to the feature it took its maximum from.
at::Tensor roi_max_pool(const at::Tensor& features, const at::Tensor& rois,
                        int64_t pooled_h, int64_t pooled_w, float spatial_scale);

// The forward kernel alone: the pooled output and, when with_argmax, the int32 index y * W + x
// within its (n, c) plane of the element each bin took (-1 for an empty bin).
std::tuple<at::Tensor, at::Tensor> roi_max_pool_forward(const at::Tensor& features, const at::Tensor& rois,
                                                        int64_t pooled_h, int64_t pooled_w,
                                                        float spatial_scale, bool with_argmax);

// The backward kernel alone: grad_output [R, C, ph, pw] scattered at argmax into [N, C, H, W].
at::Tensor roi_max_pool_backward(const at::Tensor& grad_output, const at::Tensor& argmax,
                                 const at::Tensor& rois, const std::vector<int64_t>& features_shape);

}  // namespace ohem
