// The detector behind the C ABI of ohem_torch.h: parameters as named tensors, the backbone, the
// RoI head, the multi-task loss, SGD, checkpoints. Every entry point runs inside guarded(), which
// turns any exception into a status and a thread-local message.
#include "ohem_torch.h"

#include "roi_pool.h"

#include <ATen/CPUGeneratorImpl.h>
#include <torch/torch.h>

#include <atomic>
#include <cmath>
#include <cstdio>
#include <string>
#include <unordered_map>
#include <utility>
#include <vector>

namespace {

thread_local std::string last_error;
std::atomic<int> requested_threads{0};

// OpenMP keeps the thread count per calling thread: apply the requested count on whichever
// thread calls in (cheap when it already matches).
void sync_threads() {
  const int threads = requested_threads.load();
  if (threads > 0 && at::get_num_threads() != threads) {
    at::set_num_threads(threads);
  }
}

template <class F>
int guarded(F&& body) noexcept {
  try {
    sync_threads();
    body();
    return 0;
  } catch (const c10::Error& e) {
    last_error = e.what_without_backtrace();
  } catch (const std::exception& e) {
    last_error = e.what();
  } catch (...) {
    last_error = "unknown native exception";
  }
  return 1;
}

at::Tensor wrap(const float* data, std::vector<int64_t> shape) {
  // from_blob does not own the caller's memory: every caller clones or finishes with it before returning.
  return torch::from_blob(const_cast<float*>(data), shape, torch::kFloat);
}

std::string shape_text(at::IntArrayRef shape) {
  std::string text = "[";
  for (size_t i = 0; i < shape.size(); ++i) {
    text += (i == 0 ? "" : ", ") + std::to_string(shape[i]);
  }
  return text + "]";
}

struct Parameter {
  std::string name;
  at::Tensor value;     // requires grad
  at::Tensor momentum;  // SGD's velocity, same shape
};

class Detector {
 public:
  Detector(int input_channels, std::vector<int> backbone, int stride, int pooled, std::vector<int> hidden,
           int num_classes, float momentum, float weight_decay, int64_t seed)
      : stride_(stride), pooled_(pooled), hidden_count_(static_cast<int>(hidden.size())),
        num_classes_(num_classes), momentum_(momentum), weight_decay_(weight_decay) {
    TORCH_CHECK(input_channels >= 1, "InputChannels is ", input_channels, "; expected at least 1");
    TORCH_CHECK(!backbone.empty(), "BackboneChannels is empty; expected at least one conv");
    TORCH_CHECK(stride >= 1 && (stride & (stride - 1)) == 0, "Stride is ", stride, "; expected a power of two");
    while ((1 << pools_) < stride) {
      ++pools_;
    }
    TORCH_CHECK(pools_ <= static_cast<int>(backbone.size()), "Stride ", stride, " needs ", pools_,
                " convs (one 2x2 pool after each); BackboneChannels has ", backbone.size());
    TORCH_CHECK(pooled >= 1, "PooledSize is ", pooled, "; expected at least 1");
    TORCH_CHECK(num_classes >= 1, "NumClasses is ", num_classes, "; expected at least 1");

    auto generator = at::make_generator<at::CPUGeneratorImpl>(static_cast<uint64_t>(seed));
    torch::NoGradGuard no_grad;
    // torch's default init for Conv2d and Linear (kaiming_uniform(a = sqrt 5) and its bias rule)
    // is uniform in +-1/sqrt(fan_in) for both weight and bias.
    auto add_default = [&](const std::string& layer, std::vector<int64_t> weight_shape) {
      int64_t fan_in = 1;
      for (size_t i = 1; i < weight_shape.size(); ++i) fan_in *= weight_shape[i];
      const double bound = 1.0 / std::sqrt(static_cast<double>(fan_in));
      add(layer + ".weight", torch::empty(weight_shape).uniform_(-bound, bound, generator));
      add(layer + ".bias", torch::empty({weight_shape[0]}).uniform_(-bound, bound, generator));
    };
    int64_t channels = input_channels;
    for (size_t i = 0; i < backbone.size(); ++i) {
      TORCH_CHECK(backbone[i] >= 1, "BackboneChannels[", i, "] is ", backbone[i], "; expected at least 1");
      add_default("backbone.conv" + std::to_string(i + 1), {backbone[i], channels, 3, 3});
      channels = backbone[i];
    }
    first_head_ = params_.size();
    int64_t fan_in = channels * pooled * pooled;
    for (size_t i = 0; i < hidden.size(); ++i) {
      TORCH_CHECK(hidden[i] >= 1, "HiddenSizes[", i, "] is ", hidden[i], "; expected at least 1");
      add_default("fc" + std::to_string(6 + i), {hidden[i], fan_in});
      fan_in = hidden[i];
    }
    // Fast R-CNN: the classifier from N(0, 0.01), the box regressor from N(0, 0.001), zero biases.
    add("cls_score.weight", torch::empty({num_classes + 1, fan_in}).normal_(0.0, 0.01, generator));
    add("cls_score.bias", torch::zeros({num_classes + 1}));
    add("bbox_pred.weight", torch::empty({4 * (num_classes + 1), fan_in}).normal_(0.0, 0.001, generator));
    add("bbox_pred.bias", torch::zeros({4 * (num_classes + 1)}));
  }

  int64_t num_classes() const { return num_classes_; }
  const std::vector<Parameter>& parameters() const { return params_; }

  Parameter& find(const std::string& name) {
    const auto it = by_name_.find(name);
    TORCH_CHECK(it != by_name_.end(), "the detector has no parameter '", name, "'");
    return params_[it->second];
  }

  // conv3x3 (pad 1) + ReLU per backbone entry; a 2x2 stride-2 max pool after each of the first
  // log2(stride) convs.
  at::Tensor backbone(const at::Tensor& images) const {
    at::Tensor x = images;
    for (size_t i = 0; i < first_head_ / 2; ++i) {
      x = torch::relu(torch::conv2d(x, params_[2 * i].value, params_[2 * i + 1].value, 1, 1));
      if (static_cast<int>(i) < pools_) {
        x = torch::max_pool2d(x, {2, 2}, {2, 2});
      }
    }
    return x;
  }

  // RoI max pool -> flatten -> (fc + ReLU)* -> (cls_score, bbox_pred), as RoiHeadExporter writes it.
  std::pair<at::Tensor, at::Tensor> head(const at::Tensor& features, const at::Tensor& rois) const {
    at::Tensor x = ohem::roi_max_pool(features, rois, pooled_, pooled_, 1.0f / static_cast<float>(stride_)).flatten(1);
    size_t p = first_head_;
    for (int i = 0; i < hidden_count_; ++i, p += 2) {
      x = torch::relu(torch::linear(x, params_[p].value, params_[p + 1].value));
    }
    auto cls = torch::linear(x, params_[p].value, params_[p + 1].value);
    auto box = torch::linear(x, params_[p + 2].value, params_[p + 3].value);
    return {cls, box};
  }

  // The contract's per-RoI loss (ARCHITECTURE.md, Ohem.Core RoiLoss): softmax cross-entropy plus,
  // for label >= 1, smooth-L1 (beta 1) over the labelled class's 4 deltas; 0 for label -1.
  static at::Tensor per_roi_loss(const at::Tensor& cls, const at::Tensor& box, const at::Tensor& labels,
                                 const at::Tensor& targets) {
    const auto valid = labels.ge(0);
    const auto foreground = labels.ge(1);
    const auto safe = labels.clamp_min(0);
    const auto cross_entropy = -torch::log_softmax(cls, 1).gather(1, safe.unsqueeze(1)).squeeze(1);
    const auto columns = safe.unsqueeze(1) * 4 + torch::arange(4, labels.options());
    const auto deltas = box.gather(1, columns);
    const auto smooth_l1 = torch::smooth_l1_loss(deltas, targets, at::Reduction::None, 1.0).sum(1);
    const auto zero = torch::zeros_like(cross_entropy);
    return torch::where(valid, cross_entropy + torch::where(foreground, smooth_l1, zero), zero);
  }

  // p <- p - lr * v, v <- momentum * v + (grad + weight_decay * p): torch.optim.SGD (dampening 0,
  // no Nesterov); a parameter without a gradient is left alone, as there.
  void step(float learning_rate) {
    torch::NoGradGuard no_grad;
    for (auto& p : params_) {
      auto grad = p.value.mutable_grad();
      if (!grad.defined()) {
        continue;
      }
      auto direction = weight_decay_ != 0.0f ? grad.add(p.value, weight_decay_) : grad;
      p.momentum.mul_(momentum_).add_(direction);
      p.value.sub_(p.momentum, learning_rate);
      grad.zero_();
    }
  }

  void save(const std::string& path) const {
    torch::serialize::OutputArchive archive;
    std::vector<std::string> names;
    for (size_t i = 0; i < params_.size(); ++i) {
      names.push_back(params_[i].name);
      archive.write("param_" + std::to_string(i), params_[i].value.detach());
      archive.write("momentum_" + std::to_string(i), params_[i].momentum);
    }
    archive.write("names", c10::IValue(names));
    // Write beside, then rename: a crash mid-save never leaves a torn checkpoint under the name.
    const std::string temporary = path + ".partial";
    archive.save_to(temporary);
    TORCH_CHECK(std::rename(temporary.c_str(), path.c_str()) == 0, "cannot rename ", temporary, " to ", path);
  }

  void load(const std::string& path) {
    torch::serialize::InputArchive archive;
    archive.load_from(path);
    c10::IValue names_value;
    TORCH_CHECK(archive.try_read("names", names_value) && names_value.isList(),
                path, " is not a detector checkpoint (no parameter names)");
    const auto names = names_value.to<std::vector<std::string>>();
    std::unordered_map<std::string, size_t> stored;
    for (size_t i = 0; i < names.size(); ++i) {
      stored.emplace(names[i], i);
      TORCH_CHECK(by_name_.count(names[i]) != 0, "checkpoint ", path, " has parameter '", names[i],
                  "', which this detector does not have");
    }
    // Read and check everything before changing anything.
    std::vector<std::pair<at::Tensor, at::Tensor>> values;
    for (const auto& p : params_) {
      const auto it = stored.find(p.name);
      TORCH_CHECK(it != stored.end(), "checkpoint ", path, " has no parameter '", p.name, "' ",
                  shape_text(p.value.sizes()));
      at::Tensor value, momentum;
      const auto index = std::to_string(it->second);
      TORCH_CHECK(archive.try_read("param_" + index, value) && archive.try_read("momentum_" + index, momentum),
                  "checkpoint ", path, " lacks the values of '", p.name, "'");
      TORCH_CHECK(value.sizes() == p.value.sizes() && momentum.sizes() == p.value.sizes(),
                  "checkpoint ", path, " has '", p.name, "' ", shape_text(value.sizes()), "; this detector's is ",
                  shape_text(p.value.sizes()));
      TORCH_CHECK(value.scalar_type() == at::kFloat && momentum.scalar_type() == at::kFloat,
                  "checkpoint ", path, " has '", p.name, "' of type ", value.scalar_type(), "; expected float32");
      values.emplace_back(value, momentum);
    }
    torch::NoGradGuard no_grad;
    for (size_t i = 0; i < params_.size(); ++i) {
      params_[i].value.copy_(values[i].first);
      params_[i].momentum.copy_(values[i].second);
    }
  }

 private:
  void add(const std::string& name, at::Tensor value) {
    by_name_.emplace(name, params_.size());
    params_.push_back({name, value.set_requires_grad(true), torch::zeros_like(value)});
  }

  int stride_;
  int pooled_;
  int hidden_count_;
  int64_t num_classes_;
  float momentum_;
  float weight_decay_;
  int pools_ = 0;
  size_t first_head_ = 0;
  std::vector<Parameter> params_;
  std::unordered_map<std::string, size_t> by_name_;
};

}  // namespace

struct ohem_detector {
  Detector model;
};

// Feature maps with the backbone's graph: any number of inference passes, one training pass.
struct ohem_features {
  const ohem_detector* owner;
  at::Tensor value;
  bool trained = false;
};

namespace {

void check_owner(const ohem_detector* detector, const ohem_features* features) {
  TORCH_CHECK(detector != nullptr && features != nullptr, "null detector or feature maps");
  TORCH_CHECK(features->owner == detector, "the feature maps come from another detector");
}

// The parameter `name`, checked to fit a caller's buffer (`role`: "source" or "destination") of
// `length` floats exactly.
Parameter& sized_parameter(const ohem_detector* detector, const char* name, int64_t length, const char* role) {
  TORCH_CHECK(detector != nullptr && name != nullptr, "null detector or name");
  auto& p = const_cast<ohem_detector*>(detector)->model.find(name);
  TORCH_CHECK(length == p.value.numel(), role, " holds ", length, " floats; '", name, "' ",
              shape_text(p.value.sizes()), " has ", p.value.numel());
  return p;
}

at::Tensor roi_tensor(const float* rois, int64_t count) {
  TORCH_CHECK(count >= 0, "RoI count is ", count, "; expected >= 0");
  return wrap(rois, {count, 5}).clone();
}

}  // namespace

extern "C" {

const char* ohem_torch_last_error(void) { return last_error.c_str(); }

int ohem_torch_version(const char** version) {
  return guarded([&] {
    static const std::string text = std::string(TORCH_VERSION) + " (" + at::get_parallel_info() + ")";
    *version = text.c_str();
  });
}

int ohem_torch_set_threads(int threads) {
  return guarded([&] {
    TORCH_CHECK(threads >= 1, "threads is ", threads, "; expected at least 1");
    requested_threads.store(threads);
    at::set_num_threads(threads);
  });
}

int ohem_torch_get_threads(int* threads) {
  return guarded([&] { *threads = at::get_num_threads(); });
}

int ohem_detector_create(int input_channels, const int32_t* backbone_channels, int backbone_count, int stride,
                         int pooled_size, const int32_t* hidden_sizes, int hidden_count, int num_classes,
                         float momentum, float weight_decay, int64_t seed, ohem_detector** detector) {
  return guarded([&] {
    TORCH_CHECK(backbone_count >= 0 && hidden_count >= 0, "negative layer count");
    std::vector<int> backbone(backbone_channels, backbone_channels + backbone_count);
    std::vector<int> hidden(hidden_sizes, hidden_sizes + hidden_count);
    *detector = new ohem_detector{Detector(input_channels, backbone, stride, pooled_size, hidden, num_classes,
                                           momentum, weight_decay, seed)};
  });
}

int ohem_detector_free(ohem_detector* detector) {
  return guarded([&] { delete detector; });
}

int ohem_detector_backbone(ohem_detector* detector, const float* images, int count, int height, int width,
                           ohem_features** features, int64_t* shape) {
  return guarded([&] {
    TORCH_CHECK(detector != nullptr, "null detector");
    TORCH_CHECK(count >= 1 && height >= 1 && width >= 1, "images shape [", count, ", ", height, ", ", width,
                "]; every dimension must be at least 1");
    const auto input_channels = detector->model.parameters()[0].value.size(1);
    auto input = wrap(images, {count, input_channels, height, width}).clone();
    auto value = detector->model.backbone(input);
    for (int i = 0; i < 4; ++i) {
      shape[i] = value.size(i);
    }
    *features = new ohem_features{detector, value};
  });
}

int ohem_features_free(ohem_features* features) {
  return guarded([&] { delete features; });
}

int ohem_features_copy(const ohem_features* features, float* destination, int64_t length) {
  return guarded([&] {
    TORCH_CHECK(features != nullptr, "null feature maps");
    TORCH_CHECK(length == features->value.numel(), "destination holds ", length, " floats; the feature maps ",
                shape_text(features->value.sizes()), " have ", features->value.numel());
    wrap(destination, features->value.sizes().vec()).copy_(features->value.detach());
  });
}

int ohem_detector_infer_head(ohem_detector* detector, ohem_features* features, const float* rois, int64_t count,
                             float* cls_scores, float* bbox_pred) {
  return guarded([&] {
    check_owner(detector, features);
    c10::InferenceMode inference;
    const auto [cls, box] = detector->model.head(features->value, wrap(rois, {count, 5}));
    const auto width = detector->model.num_classes() + 1;
    wrap(cls_scores, {count, width}).copy_(cls);
    wrap(bbox_pred, {count, 4 * width}).copy_(box);
  });
}

int ohem_detector_train_head(ohem_detector* detector, ohem_features* features, const float* rois, int64_t count,
                             const int32_t* labels, const float* targets, const float* weights, float* per_roi_loss,
                             float* loss) {
  return guarded([&] {
    check_owner(detector, features);
    TORCH_CHECK(!features->trained, "these feature maps were already trained on: their graph is freed by the "
                "backward; run the backbone again for another training pass");
    const auto label_tensor = torch::from_blob(const_cast<int32_t*>(labels), {count}, torch::kInt).to(torch::kLong);
    const auto target_tensor = wrap(targets, {count, 4}).clone();
    const auto [cls, box] = detector->model.head(features->value, roi_tensor(rois, count));
    const auto losses = Detector::per_roi_loss(cls, box, label_tensor, target_tensor);
    const auto weighted = weights == nullptr ? losses : losses * wrap(weights, {count}).clone();
    const auto counted = label_tensor.ge(0).sum().clamp_min(1).to(torch::kFloat);
    const auto total = weighted.sum() / counted;
    features->trained = true;  // set before the backward: a failed backward has freed the graph too
    total.backward();
    wrap(per_roi_loss, {count}).copy_(losses.detach());
    *loss = total.item<float>();
  });
}

int ohem_detector_step(ohem_detector* detector, float learning_rate) {
  return guarded([&] {
    TORCH_CHECK(detector != nullptr, "null detector");
    TORCH_CHECK(std::isfinite(learning_rate) && learning_rate >= 0.0f, "learning rate is ", learning_rate,
                "; expected a finite number >= 0");
    detector->model.step(learning_rate);
  });
}

int ohem_detector_parameter_count(const ohem_detector* detector, int* count) {
  return guarded([&] {
    TORCH_CHECK(detector != nullptr, "null detector");
    *count = static_cast<int>(detector->model.parameters().size());
  });
}

int ohem_detector_parameter_info(const ohem_detector* detector, int index, const char** name, int* rank,
                                 int64_t* shape) {
  return guarded([&] {
    TORCH_CHECK(detector != nullptr, "null detector");
    const auto& params = detector->model.parameters();
    TORCH_CHECK(index >= 0 && index < static_cast<int>(params.size()), "parameter index ", index, " out of range");
    const auto& p = params[static_cast<size_t>(index)];
    TORCH_CHECK(p.value.dim() <= 8, "parameter rank above 8");
    *name = p.name.c_str();
    *rank = static_cast<int>(p.value.dim());
    for (int64_t i = 0; i < p.value.dim(); ++i) {
      shape[i] = p.value.size(i);
    }
  });
}

int ohem_detector_copy_parameter(const ohem_detector* detector, const char* name, float* destination,
                                 int64_t length) {
  return guarded([&] {
    const auto& p = sized_parameter(detector, name, length, "destination");
    wrap(destination, p.value.sizes().vec()).copy_(p.value.detach());
  });
}

int ohem_detector_copy_gradient(const ohem_detector* detector, const char* name, float* destination,
                                int64_t length) {
  return guarded([&] {
    const auto& p = sized_parameter(detector, name, length, "destination");
    auto out = wrap(destination, p.value.sizes().vec());
    const auto& grad = p.value.grad();
    if (grad.defined()) {
      out.copy_(grad);
    } else {
      out.zero_();
    }
  });
}

int ohem_detector_set_parameter(ohem_detector* detector, const char* name, const float* source, int64_t length) {
  return guarded([&] {
    auto& p = sized_parameter(detector, name, length, "source");
    torch::NoGradGuard no_grad;
    p.value.copy_(wrap(source, p.value.sizes().vec()));
  });
}

int ohem_detector_save(const ohem_detector* detector, const char* path) {
  return guarded([&] {
    TORCH_CHECK(detector != nullptr && path != nullptr, "null detector or path");
    detector->model.save(path);
  });
}

int ohem_detector_load(ohem_detector* detector, const char* path) {
  return guarded([&] {
    TORCH_CHECK(detector != nullptr && path != nullptr, "null detector or path");
    detector->model.load(path);
  });
}

int ohem_roi_max_pool(const float* features, int64_t n, int64_t c, int64_t h, int64_t w, const float* rois,
                      int64_t count, int pooled_h, int pooled_w, float spatial_scale, float* output) {
  return guarded([&] {
    c10::InferenceMode inference;
    const auto pooled = ohem::roi_max_pool(wrap(features, {n, c, h, w}), wrap(rois, {count, 5}), pooled_h,
                                           pooled_w, spatial_scale);
    wrap(output, {count, c, pooled_h, pooled_w}).copy_(pooled);
  });
}

int ohem_roi_max_pool_backward(const float* features, int64_t n, int64_t c, int64_t h, int64_t w, const float* rois,
                               int64_t count, int pooled_h, int pooled_w, float spatial_scale,
                               const float* grad_output, float* grad_features) {
  return guarded([&] {
    auto input = wrap(features, {n, c, h, w}).clone().set_requires_grad(true);
    const auto pooled = ohem::roi_max_pool(input, roi_tensor(rois, count), pooled_h, pooled_w, spatial_scale);
    pooled.backward(wrap(grad_output, {count, c, pooled_h, pooled_w}).clone());
    wrap(grad_features, {n, c, h, w}).copy_(input.grad());
  });
}

}  // extern "C"
