/* The C ABI of the trainer's libtorch engine (libohem_torch.so), bound by Ohem.Torch/Native.
 *
 * Every entry point returns a status: 0 = ok, nonzero = failed, and then ohem_torch_last_error()
 * returns the message (thread-local, valid until the thread's next failing call). No C++ exception
 * crosses this boundary. Shapes are row-major float32 unless said otherwise; every pointer argument
 * points at exactly the number of elements its shape says. A detector and its feature maps are not
 * safe for concurrent use (the managed wrapper serialises calls).
 */
#ifndef OHEM_TORCH_H
#define OHEM_TORCH_H

#include <stdint.h>

#ifdef __cplusplus
extern "C" {
#endif

#define OHEM_TORCH_API __attribute__((visibility("default")))

typedef struct ohem_detector ohem_detector;
typedef struct ohem_features ohem_features;

OHEM_TORCH_API const char* ohem_torch_last_error(void);
/* libtorch's version ("1.13.0") and its parallel backend, a static string. */
OHEM_TORCH_API int ohem_torch_version(const char** version);
/* Intra-op threads for every later call, from any thread (OpenMP keeps the count per thread). */
OHEM_TORCH_API int ohem_torch_set_threads(int threads);
OHEM_TORCH_API int ohem_torch_get_threads(int* threads);

/* A Fast R-CNN style detector: backbone (conv3x3 + ReLU per entry of backbone_channels, a 2x2
 * max pool after each of the first log2(stride)), RoI max pool (pooled_size^2, scale 1/stride),
 * fc6, fc7, ... (hidden_sizes) + ReLU, cls_score [K+1] and bbox_pred [4(K+1)]. */
OHEM_TORCH_API int ohem_detector_create(int input_channels, const int32_t* backbone_channels, int backbone_count,
                                        int stride, int pooled_size, const int32_t* hidden_sizes, int hidden_count,
                                        int num_classes, float momentum, float weight_decay, int64_t seed,
                                        ohem_detector** detector);
OHEM_TORCH_API int ohem_detector_free(ohem_detector* detector);

/* images [count, C_in, height, width] -> feature maps, keeping the graph for one training pass.
 * shape receives [N, C, H, W] of the feature maps. */
OHEM_TORCH_API int ohem_detector_backbone(ohem_detector* detector, const float* images, int count, int height,
                                          int width, ohem_features** features, int64_t* shape);
OHEM_TORCH_API int ohem_features_free(ohem_features* features);
OHEM_TORCH_API int ohem_features_copy(const ohem_features* features, float* destination, int64_t length);

/* Inference mode (no graph): rois [count, 5] -> cls_scores [count, K+1], bbox_pred [count, 4(K+1)]. */
OHEM_TORCH_API int ohem_detector_infer_head(ohem_detector* detector, ohem_features* features, const float* rois,
                                            int64_t count, float* cls_scores, float* bbox_pred);
/* Forward, multi-task loss and backward into head and backbone (gradients accumulate until
 * ohem_detector_step). labels [count] in -1..K, targets [count, 4], weights [count] or NULL (all 1).
 * per_roi_loss [count] receives the unweighted loss of each RoI (0 for label -1); loss receives
 * sum(w_i * l_i) / (number of RoIs with label >= 0). Frees the feature maps' graph. */
OHEM_TORCH_API int ohem_detector_train_head(ohem_detector* detector, ohem_features* features, const float* rois,
                                            int64_t count, const int32_t* labels, const float* targets,
                                            const float* weights, float* per_roi_loss, float* loss);
/* SGD with momentum and weight decay (PyTorch's formula), then zero the gradients. */
OHEM_TORCH_API int ohem_detector_step(ohem_detector* detector, float learning_rate);

OHEM_TORCH_API int ohem_detector_parameter_count(const ohem_detector* detector, int* count);
/* name stays valid while the detector lives; shape must hold 8 entries. */
OHEM_TORCH_API int ohem_detector_parameter_info(const ohem_detector* detector, int index, const char** name,
                                                int* rank, int64_t* shape);
OHEM_TORCH_API int ohem_detector_copy_parameter(const ohem_detector* detector, const char* name,
                                                float* destination, int64_t length);
/* The accumulated gradient of a parameter (zeros before any training pass or after a step). */
OHEM_TORCH_API int ohem_detector_copy_gradient(const ohem_detector* detector, const char* name,
                                               float* destination, int64_t length);
OHEM_TORCH_API int ohem_detector_set_parameter(ohem_detector* detector, const char* name, const float* source,
                                               int64_t length);
/* Parameters and momentum buffers; load checks every name and shape before it changes anything. */
OHEM_TORCH_API int ohem_detector_save(const ohem_detector* detector, const char* path);
OHEM_TORCH_API int ohem_detector_load(ohem_detector* detector, const char* path);

/* The RoI max pooling alone (for tests): features [n, c, h, w], rois [count, 5] ->
 * output [count, c, pooled_h, pooled_w]; the backward runs the autograd function's backward with
 * grad_output [count, c, pooled_h, pooled_w] and writes grad_features [n, c, h, w]. */
OHEM_TORCH_API int ohem_roi_max_pool(const float* features, int64_t n, int64_t c, int64_t h, int64_t w,
                                     const float* rois, int64_t count, int pooled_h, int pooled_w,
                                     float spatial_scale, float* output);
OHEM_TORCH_API int ohem_roi_max_pool_backward(const float* features, int64_t n, int64_t c, int64_t h, int64_t w,
                                              const float* rois, int64_t count, int pooled_h, int pooled_w,
                                              float spatial_scale, const float* grad_output, float* grad_features);

#ifdef __cplusplus
}
#endif

#endif
