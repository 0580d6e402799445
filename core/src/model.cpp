// The network, the Model handle, saving/loading and device set-up.
#include "bs3l/model.h"

#include <ATen/Parallel.h>

#include <sstream>
#include <thread>

#include "bs3l/limits.h"
#include "memory.h"
#include "model_impl.h"

#include <torch/version.h>

namespace bs3l {
namespace {

namespace nn = torch::nn;

nn::Conv2d conv3(int in, int out, bool bias) {
  return nn::Conv2d(nn::Conv2dOptions(in, out, 3).padding(0).bias(bias));
}

nn::AnyModule norm(const ModelConfig &c) {
  if (c.instance_norm) return nn::AnyModule(nn::InstanceNorm2d(nn::InstanceNorm2dOptions(c.features)));
  return nn::AnyModule(nn::BatchNorm2d(c.features));
}

// conv-norm-ReLU-conv-norm with an identity skip.
class ResBlockImpl : public nn::Module {
 public:
  explicit ResBlockImpl(const ModelConfig &c) {
    const bool bias = c.instance_norm;  // a bias before batch norm is redundant
    body = register_module("body", nn::Sequential(nn::ReflectionPad2d(1), conv3(c.features, c.features, bias),
                                                  norm(c), nn::ReLU(), nn::ReflectionPad2d(1),
                                                  conv3(c.features, c.features, bias), norm(c)));
  }
  torch::Tensor forward(torch::Tensor x) { return x + body->forward(x); }
  nn::Sequential body{nullptr};
};
TORCH_MODULE(ResBlock);

}  // namespace

BS3LNetImpl::BS3LNetImpl(const ModelConfig &c) : config_(c) {
  if (c.bands < 1 || c.features < 1 || c.blocks < 0)
    throw Error("invalid network configuration (bands " + std::to_string(c.bands) + ", features " +
                std::to_string(c.features) + ", blocks " + std::to_string(c.blocks) + ")");
  const bool bias = c.instance_norm;
  encoder = register_module("encoder", nn::Sequential(nn::ReflectionPad2d(1), conv3(c.bands, c.features, true),
                                                      nn::ReLU()));
  blocks = register_module("blocks", nn::Sequential());
  for (int i = 0; i < c.blocks; ++i) blocks->push_back(ResBlock(c));
  decoder = register_module("decoder", nn::Sequential(nn::ReflectionPad2d(1),
                                                      conv3(c.features, c.features, bias), norm(c)));
  head = register_module("head", nn::Sequential(nn::ReflectionPad2d(1), conv3(c.features, c.bands, true)));
  reset_weights();
}

torch::Tensor BS3LNetImpl::forward(torch::Tensor x) {
  x = encoder->forward(x);
  torch::Tensor skip = x;
  if (!blocks->is_empty()) x = blocks->forward(x);
  x = decoder->forward(x) + skip;
  return head->forward(x);
}

void BS3LNetImpl::reset_weights() {
  torch::NoGradGuard no_grad;
  for (auto &m : modules(/*include_self=*/false)) {
    if (auto *conv = m->as<nn::Conv2d>()) {
      conv->weight.normal_(0.0, 0.02);
      if (conv->bias.defined()) conv->bias.zero_();
    } else if (auto *bn = m->as<nn::BatchNorm2d>()) {
      bn->weight.normal_(1.0, 0.02);
      bn->bias.zero_();
    }
  }
}

int64_t parameter_count(nn::Module &m) {
  int64_t n = 0;
  for (const auto &p : m.parameters()) n += p.numel();
  return n;
}

int64_t buffer_count(nn::Module &m) {
  int64_t n = 0;
  for (const auto &b : m.buffers()) n += b.numel();
  return n;
}

int receptive_radius(const ModelConfig &c) { return 3 + 2 * c.blocks; }

// ---- Model handle -------------------------------------------------------

Model::Model() : impl_(std::make_unique<Impl>()) {}
Model::~Model() = default;
Model::Model(Model &&) noexcept = default;
Model &Model::operator=(Model &&) noexcept = default;
const ModelConfig &Model::config() const { return impl_->config; }
const Scaling &Model::scaling() const { return impl_->scaling; }
std::string Model::device() const { return impl_->device.str(); }
double Model::final_loss() const { return impl_->final_loss; }
int64_t Model::graph_steps() const { return impl_->graph_steps; }
void Model::set_tag(const std::string &key, const std::string &value) {
  if (key.find_first_of("=\n") != std::string::npos || value.find('\n') != std::string::npos)
    throw Error("model tags may not contain '=' in keys or newlines");
  impl_->tags[key] = value;
}
std::string Model::tag(const std::string &key) const {
  auto it = impl_->tags.find(key);
  return it == impl_->tags.end() ? std::string() : it->second;
}
const ScoreReference &Model::reference() const { return impl_->reference; }
void Model::set_reference(ScoreReference reference) { impl_->reference = std::move(reference); }

// ---- devices and threads ------------------------------------------------

std::string resolve_device(const std::string &name, std::string *notice) {
  const bool cuda = torch::cuda::is_available();
  if (name == "auto" || name.empty()) {
    if (cuda) return "cuda:0";
    if (notice) *notice = "no CUDA device available; running on the CPU";
    return "cpu";
  }
  if (name == "cpu") return "cpu";
  if (name.rfind("cuda", 0) == 0) {
    if (!cuda) throw Error("device '" + name + "' requested but CUDA is not available in this build or machine");
    int index = 0;
    if (name.size() > 4) {
      if (name[4] != ':' || name.size() == 5 || name.find_first_not_of("0123456789", 5) != std::string::npos)
        throw Error("invalid device '" + name + "' (use auto, cpu, cuda or cuda:N)");
      index = std::stoi(name.substr(5));
    }
    const int count = int(torch::cuda::device_count());
    if (index >= count)
      throw Error("device '" + name + "' requested but only " + std::to_string(count) + " CUDA device(s) exist");
    return "cuda:" + std::to_string(index);
  }
  throw Error("invalid device '" + name + "' (use auto, cpu, cuda or cuda:N)");
}

void configure_cpu(int threads) {
  if (threads <= 0) threads = resource_limits().cpus;  // a Slurm task's or container's share, not the node's
  at::set_num_threads(threads);
  // Denormals slow CPU training several-fold as weights shrink.
  at::globalContext().setFlushDenormal(true);
  keep_freed_memory();
}

std::string version() { return BS3L_VERSION; }

std::string runtime_versions() {
  std::ostringstream s;
  s << "LibTorch " << TORCH_VERSION << ", CUDA ";
  if (torch::cuda::is_available())
    s << torch::cuda::device_count() << " device(s)";
  else
    s << "none (CPU only)";
  return s.str();
}

// ---- save / load --------------------------------------------------------

namespace {
constexpr const char *kMagic = "bs3lnet-model-1";

std::string meta_string(const Model::Impl &m) {
  std::ostringstream s;
  s << "magic=" << kMagic << "\nversion=" << BS3L_VERSION << "\nbands=" << m.config.bands
    << "\nfeatures=" << m.config.features << "\nblocks=" << m.config.blocks
    << "\nnorm=" << (m.config.instance_norm ? "instance" : "batch") << "\nnormalize=" << to_string(m.scaling.kind)
    << "\n";
  for (const auto &[k, v] : m.tags) s << "x." << k << "=" << v << "\n";
  return s.str();
}

std::string meta_value(const std::string &meta, const std::string &key) {
  std::istringstream s(meta);
  for (std::string line; std::getline(s, line);)
    if (line.rfind(key + "=", 0) == 0) return line.substr(key.size() + 1);
  throw Error("model file lacks '" + key + "'");
}

torch::Tensor vec_tensor(const std::vector<float> &v) {
  return torch::tensor(v.empty() ? std::vector<float>{0.f} : v, torch::kFloat32).slice(0, 0, int64_t(v.size()));
}

std::vector<float> tensor_vec(const torch::Tensor &t) {
  torch::Tensor c = t.to(torch::kCPU, torch::kFloat32).contiguous();
  return std::vector<float>(c.data_ptr<float>(), c.data_ptr<float>() + c.numel());
}

torch::Tensor dvec_tensor(const std::vector<double> &v) {
  return torch::tensor(v.empty() ? std::vector<double>{0.0} : v, torch::kFloat64).slice(0, 0, int64_t(v.size()));
}

std::vector<double> tensor_dvec(const torch::Tensor &t) {
  torch::Tensor c = t.to(torch::kCPU, torch::kFloat64).contiguous();
  return std::vector<double>(c.data_ptr<double>(), c.data_ptr<double>() + c.numel());
}

// The score reference and nodata fill, as buffers (absent in older files).
void write_reference(torch::serialize::OutputArchive &a, const Model::Impl &m) {
  const ScoreReference &r = m.reference;
  a.write("bs3l_fill", vec_tensor(m.fill), true);
  a.write("bs3l_ref_weight", dvec_tensor(r.band_weight), true);
  a.write("bs3l_ref_rx_mean", dvec_tensor(r.rx_mean), true);
  a.write("bs3l_ref_rx_inverse", dvec_tensor(r.rx_inverse), true);
  a.write("bs3l_ref_mse", dvec_tensor(r.mse), true);
  a.write("bs3l_ref_scaled", dvec_tensor(r.scaled), true);
  a.write("bs3l_ref_rx", dvec_tensor(r.rx), true);
  if (r.rx_rank > 0) a.write("bs3l_ref_rx_rank", dvec_tensor({double(r.rx_rank)}), true);
  if (r.has_all()) {
    a.write("bs3l_ref_all_mean", dvec_tensor(r.all_mean), true);
    a.write("bs3l_ref_all_inverse", dvec_tensor(r.all_inverse), true);
    a.write("bs3l_ref_rx_all", dvec_tensor(r.rx_all), true);
    a.write("bs3l_ref_all_weight", dvec_tensor({r.kurtosis, r.all_weight}), true);
  }
  if (r.has_blocks()) {
    std::vector<double> grid{double(r.grid_rows), double(r.grid_cols)};
    grid.insert(grid.end(), r.block_weight.begin(), r.block_weight.end());
    a.write("bs3l_ref_blocks", dvec_tensor(grid), true);
    a.write("bs3l_ref_sample_weight", dvec_tensor(r.sample_weight), true);
    if (r.has_block_rx()) {
      a.write("bs3l_ref_block_mean", dvec_tensor(r.block_mean), true);
      a.write("bs3l_ref_block_inverse", dvec_tensor(r.block_inverse), true);
      a.write("bs3l_ref_rx_block", dvec_tensor(r.rx_block), true);
    }
  }
}

void read_reference(torch::serialize::InputArchive &a, Model::Impl &m, const std::string &path) {
  torch::Tensor t;
  if (!a.try_read("bs3l_fill", t, true) || t.numel() == 0) return;  // an older file (or one re-saved)
  m.fill = tensor_vec(t);
  ScoreReference &r = m.reference;
  std::vector<double> *parts[] = {&r.band_weight, &r.rx_mean, &r.rx_inverse, &r.mse, &r.scaled, &r.rx};
  const char *names[] = {"bs3l_ref_weight", "bs3l_ref_rx_mean", "bs3l_ref_rx_inverse", "bs3l_ref_mse", "bs3l_ref_scaled", "bs3l_ref_rx"};
  for (int k = 0; k < 6; ++k) {
    torch::Tensor v;  // fresh: read() into a defined tensor keeps that tensor's dtype
    a.read(names[k], v, true);
    *parts[k] = tensor_dvec(v);
  }
  // The rank of RX's purified background: absent in files of earlier builds (full rank).
  torch::Tensor rank;
  if (a.try_read("bs3l_ref_rx_rank", rank, true)) {
    const std::vector<double> v = tensor_dvec(rank);
    if (v.size() != 1 || !(v[0] >= 1 && v[0] < double(m.config.bands)))
      throw Error("'" + path + "' is damaged (the rank of its RX background)");
    r.rx_rank = int(v[0]);
  }
  // RX against every pixel: absent in files of earlier builds.
  std::vector<double> *all_parts[] = {&r.all_mean, &r.all_inverse, &r.rx_all};
  const char *all_names[] = {"bs3l_ref_all_mean", "bs3l_ref_all_inverse", "bs3l_ref_rx_all"};
  torch::Tensor kw;
  if (a.try_read("bs3l_ref_all_weight", kw, true)) {
    const std::vector<double> v = tensor_dvec(kw);
    if (v.size() != 2) throw Error("'" + path + "' is damaged (its fusion weight)");
    r.kurtosis = v[0], r.all_weight = v[1];
    for (int k = 0; k < 3; ++k) {
      torch::Tensor x;
      if (!a.try_read(all_names[k], x, true)) throw Error("'" + path + "' is damaged (its fusion reference)");
      *all_parts[k] = tensor_dvec(x);
    }
  }
  // The weight per block: absent in files of earlier builds and for scenes within one block.
  torch::Tensor blocks, sample_weight;
  if (a.try_read("bs3l_ref_blocks", blocks, true)) {
    const std::vector<double> g = tensor_dvec(blocks);
    if (g.size() < 2 || !a.try_read("bs3l_ref_sample_weight", sample_weight, true))
      throw Error("'" + path + "' is damaged (its fusion weights per block)");
    r.grid_rows = int(g[0]), r.grid_cols = int(g[1]);
    r.block_weight.assign(g.begin() + 2, g.end());
    r.sample_weight = tensor_dvec(sample_weight);
    const bool fits = r.grid_rows > 0 && r.grid_cols > 0 && r.has_all() &&
                      r.block_weight.size() == size_t(fusion_blocks(r.grid_rows)) * size_t(fusion_blocks(r.grid_cols)) &&
                      r.sample_weight.size() == r.rx_all.size();
    if (!fits) throw Error("'" + path + "' is damaged (its fusion weights per block)");
    // RX's background per block: absent in files of earlier builds (global RX then).
    torch::Tensor mean, inverse, sample;
    if (a.try_read("bs3l_ref_block_mean", mean, true)) {
      if (!a.try_read("bs3l_ref_block_inverse", inverse, true) || !a.try_read("bs3l_ref_rx_block", sample, true))
        throw Error("'" + path + "' is damaged (its RX backgrounds per block)");
      r.block_mean = tensor_dvec(mean), r.block_inverse = tensor_dvec(inverse), r.rx_block = tensor_dvec(sample);
      const size_t nb = r.block_weight.size(), b = r.all_mean.size();
      if (r.block_mean.size() != nb * b || r.block_inverse.size() != nb * b * b || r.rx_block.size() != r.rx_all.size())
        throw Error("'" + path + "' is damaged (its RX backgrounds per block)");
    }
  }
  const size_t B = size_t(m.config.bands);
  const bool ok = m.fill.size() == B && (r.empty() || (r.band_weight.size() == B && r.rx_mean.size() == B &&
                                                       r.rx_inverse.size() == B * B && r.mse.size() == r.scaled.size() &&
                                                       r.mse.size() == r.rx.size())) &&
                  (!r.has_all() || (r.all_mean.size() == B && r.all_inverse.size() == B * B &&
                                    r.rx_all.size() == r.rx.size()));
  if (!ok) throw Error("'" + path + "' is damaged (its score reference does not match its header)");
}
}  // namespace

void save_model(const Model &model, const std::string &path) {
  Model::Impl &m = model.impl();
  if (!m.net) throw Error("the model has not been trained");
  try {
    torch::serialize::OutputArchive archive;
    m.net->to(torch::kCPU);
    m.net->save(archive);
    m.net->to(m.device);
    archive.write("bs3l_meta", c10::IValue(meta_string(m)));
    archive.write("bs3l_offset", vec_tensor(m.scaling.offset), /*is_buffer=*/true);
    archive.write("bs3l_scale", vec_tensor(m.scaling.scale), true);
    archive.write("bs3l_clip", vec_tensor({m.scaling.clip_lo, m.scaling.clip_hi}), true);
    write_reference(archive, m);
    archive.save_to(path);
  } catch (const c10::Error &e) {
    throw Error("cannot write model '" + path + "'");
  }
}

Model load_model(const std::string &path, const std::string &device) {
  Model model;
  Model::Impl &m = model.impl();
  std::string meta;
  torch::serialize::InputArchive archive;
  try {
    archive.load_from(path);
    c10::IValue v;
    archive.read("bs3l_meta", v);
    meta = v.toStringRef();
  } catch (const c10::Error &) {
    throw Error("'" + path + "' is not a BS3LNet model file");
  }
  if (meta_value(meta, "magic") != kMagic) throw Error("'" + path + "' is a model of an unknown format version");
  try {
    m.config.bands = std::stoi(meta_value(meta, "bands"));
    m.config.features = std::stoi(meta_value(meta, "features"));
    m.config.blocks = std::stoi(meta_value(meta, "blocks"));
  } catch (const std::logic_error &) {
    throw Error("'" + path + "' has a corrupt header");
  }
  m.config.instance_norm = meta_value(meta, "norm") == "instance";
  m.scaling.kind = parse_normalize(meta_value(meta, "normalize"));
  std::istringstream lines(meta);
  for (std::string line; std::getline(lines, line);)
    if (line.rfind("x.", 0) == 0 && line.find('=') != std::string::npos)
      m.tags[line.substr(2, line.find('=') - 2)] = line.substr(line.find('=') + 1);
  m.net = BS3LNet(m.config);
  try {
    torch::Tensor offset, scale;
    archive.read("bs3l_offset", offset, true);
    archive.read("bs3l_scale", scale, true);
    m.scaling.offset = tensor_vec(offset);
    m.scaling.scale = tensor_vec(scale);
    torch::Tensor clip;  // absent in files of earlier builds: no clipping
    if (archive.try_read("bs3l_clip", clip, true)) {
      const std::vector<float> c = tensor_vec(clip);
      if (c.size() != 2) throw Error("'" + path + "' is damaged (its input clipping)");
      m.scaling.clip_lo = c[0], m.scaling.clip_hi = c[1];
    }
    read_reference(archive, m, path);
    m.net->load(archive);
  } catch (const c10::Error &) {
    throw Error("'" + path + "' is damaged (weights do not match its header)");
  }
  m.device = torch::Device(resolve_device(device));
  m.net->to(m.device);
  m.net->eval();
  return model;
}

}  // namespace bs3l
