#include "core/native_lattice_model.h"

#include "core/bf16_gemm.h"
#include "core/error.h"
#include "core/lattice_kernel.h"

#include <ATen/Parallel.h>
#include <nlohmann/json.hpp>
#include <torch/csrc/autograd/autograd.h>
#include <torch/script.h>

#include <chrono>
#include <cstring>
#include <type_traits>

namespace mlspin {

namespace {

using Clock = std::chrono::steady_clock;

double seconds_since(Clock::time_point start)
{
  return std::chrono::duration<double>(Clock::now() - start).count();
}

// Thrown while reading a module whose structure is not the expected one: the
// TorchScript path is used instead (never an error for the user)
struct NotRecognised {
  std::string why;
};

[[noreturn]] void not_recognised(const std::string &why)
{
  throw NotRecognised{why};
}

std::string type_name(const torch::jit::Module &m)
{
  return m.type()->name() ? m.type()->name()->qualifiedName() : std::string();
}

bool ends_with(const std::string &s, const std::string &tail)
{
  return s.size() >= tail.size() && s.compare(s.size() - tail.size(), tail.size(), tail) == 0;
}

torch::jit::IValue attribute(const torch::jit::Module &m, const std::string &name)
{
  if (!m.hasattr(name)) not_recognised("the module " + type_name(m) + " has no attribute " + name);
  return m.attr(name);
}

torch::Tensor tensor_attr(const torch::jit::Module &m, const std::string &name)
{
  const auto v = attribute(m, name);
  if (!v.isTensor()) not_recognised("attribute " + name + " is not a tensor");
  return v.toTensor().detach().cpu().contiguous();
}

std::vector<int64_t> ints(const torch::jit::Module &m, const std::string &name)
{
  const auto t = tensor_attr(m, name).to(torch::kInt64).reshape({-1});
  return std::vector<int64_t>(t.data_ptr<int64_t>(), t.data_ptr<int64_t>() + t.numel());
}

std::vector<double> doubles(const torch::jit::Module &m, const std::string &name)
{
  const auto t = tensor_attr(m, name).to(torch::kFloat64).reshape({-1});
  return std::vector<double>(t.data_ptr<double>(), t.data_ptr<double>() + t.numel());
}

int64_t int_attr(const torch::jit::Module &m, const std::string &name)
{
  const auto v = attribute(m, name);
  if (!v.isInt()) not_recognised("attribute " + name + " is not an int");
  return v.toInt();
}

double float_attr(const torch::jit::Module &m, const std::string &name)
{
  const auto v = attribute(m, name);
  if (v.isInt()) return static_cast<double>(v.toInt());    // nn.Softplus(beta=1)
  if (!v.isDouble()) not_recognised("attribute " + name + " is not a number");
  return v.toDouble();
}

std::vector<int64_t> int_list_attr(const torch::jit::Module &m, const std::string &name)
{
  const auto v = attribute(m, name);
  if (!v.isIntList()) not_recognised("attribute " + name + " is not a list of ints");
  return v.toIntVector();
}

// the tables of a LatticeDescriptor module (names of lattice_descriptor.py)
LatticeTables read_tables(const torch::jit::Module &d)
{
  if (!ends_with(type_name(d), ".LatticeDescriptor")) not_recognised("the descriptor is " + type_name(d));
  if (!attribute(d, "columns").toBool()) not_recognised("the descriptor does not compute columns");
  LatticeTables t;
  t.lattice_name = attribute(d, "lattice_name").toStringRef();
  t.n_sites = int_attr(d, "n_sites");
  t.n_features = int_attr(d, "n_features");
  t.site_tol = float_attr(d, "site_tol");
  t.to_lattice = doubles(d, "to_lattice");
  t.from_lattice = doubles(d, "from_lattice");
  t.slot_table = ints(d, "slot_table");
  t.key_weight = doubles(d, "key_weight");
  t.key_origin = int_attr(d, "key_origin");
  t.clamp = float_attr(d, "clamp");
  t.n_nb = int_attr(d, "n_nb");
  t.n_tri = int_attr(d, "n_tri");
  t.nb_rows = ints(d, "nb_rows");
  t.tri_rows = ints(d, "tri_rows");
  t.n_orbits = int_attr(d, "n_orbits");
  t.mmax = int_attr(d, "mmax");
  t.orb_rows = ints(d, "orb_rows");
  t.orb_ut = doubles(d, "orb_ut");
  t.lin_comp = ints(d, "lin_comp");
  t.f0_rows = ints(d, "f0_rows");
  t.f1_rows = ints(d, "f1_rows");
  t.ref_m0 = doubles(d, "ref_m0");
  t.ref_m1 = doubles(d, "ref_m1");
  t.n_ref = tensor_attr(d, "ref_m0").size(0);
  t.pair_j = ints(d, "pair_j");
  t.pair_k = ints(d, "pair_k");
  t.w_rows = ints(d, "w_rows");
  t.w_t = doubles(d, "w_t");
  t.n_w = int_attr(d, "n_w");
  t.z0_rows = ints(d, "z0_rows");
  t.z1_rows = ints(d, "z1_rows");
  t.group_copies = int_list_attr(d, "group_copies");
  t.group_partners = int_list_attr(d, "group_partners");
  t.n_two_dim = int_attr(d, "n_two_dim");
  t.n_copies_two = int_attr(d, "n_copies_two");
  t.n_copies_one = int_attr(d, "n_copies_one");
  t.rb_left = ints(d, "rb_left");
  t.rb_right = ints(d, "rb_right");
  t.n_rb = int_attr(d, "n_rb");
  t.cx0_a = ints(d, "cx0_a");
  t.cx0_b = ints(d, "cx0_b");
  t.cx1_a = ints(d, "cx1_a");
  t.cx1_b = ints(d, "cx1_b");
  t.n_cx = int_attr(d, "n_cx");
  t.n_cx_two = int_attr(d, "n_cx_two");
  return t;
}

enum class Activation { silu, tanh, softplus, gelu };

// the activation of the metadata, checked against the class of the module's layers
Activation activation_of(const std::string &name, const torch::jit::Module &fn)
{
  const std::string type = type_name(fn);
  if (name == "silu" && ends_with(type, ".SiLU")) return Activation::silu;
  if (name == "tanh" && ends_with(type, ".Tanh")) return Activation::tanh;
  if (name == "softplus" && ends_with(type, ".Softplus")) {
    // nn.Softplus() defaults, which mlp() uses
    if (float_attr(fn, "beta") != 1.0 || float_attr(fn, "threshold") != 20.0) not_recognised("softplus parameters");
    return Activation::softplus;
  }
  if (name == "gelu" && ends_with(type, ".GELU")) {
    if (fn.hasattr("approximate") && fn.attr("approximate").toStringRef() != "none") not_recognised("gelu approximation");
    return Activation::gelu;
  }
  not_recognised("activation '" + name + "' with layers of type " + type);
}

torch::Tensor activate(Activation a, const torch::Tensor &x)
{
  switch (a) {
    case Activation::silu: return torch::silu(x);
    case Activation::tanh: return torch::tanh(x);
    case Activation::softplus: return torch::softplus(x, 1.0, 20.0);
    case Activation::gelu: return torch::gelu(x);
  }
  return x;
}

struct Network {
  std::vector<torch::Tensor> weight, bias;    // in the model's dtype; layer 1 standardised and reordered
  Activation activation = Activation::silu;
  double energy_scale = 1.0, energy_shift = 0.0, magnitude_coef = 0.0;
};

// Network of MLSpinModel: nets = [Sequential(Linear, Activation, ..., Linear)]
Network read_network(const torch::jit::Module &module, const std::vector<int64_t> &order, const std::string &activation,
                     torch::Dtype dtype)
{
  Network net;
  const auto nets = attribute(module, "nets").toModule();
  std::vector<torch::jit::Module> sequentials;
  for (const auto &child : nets.children()) sequentials.push_back(child);
  if (sequentials.size() != 1) not_recognised("one species needs one net, the model has " + std::to_string(sequentials.size()));
  std::vector<torch::jit::Module> layers;
  for (const auto &child : sequentials[0].children()) layers.push_back(child);
  if (layers.size() % 2 != 1) not_recognised("the net is not Linear, (Activation, Linear)*");
  for (size_t k = 0; k < layers.size(); k++) {
    const auto &layer = layers[k];
    if (k % 2 == 0) {
      if (!ends_with(type_name(layer), ".Linear")) not_recognised("layer " + std::to_string(k) + " is " + type_name(layer));
      net.weight.push_back(tensor_attr(layer, "weight").to(torch::kFloat64));
      net.bias.push_back(tensor_attr(layer, "bias").to(torch::kFloat64));
    } else {
      if (!ends_with(type_name(layer), ".Activation")) not_recognised("layer " + std::to_string(k) + " is " + type_name(layer));
      const auto fn = attribute(layer, "fn").toModule();
      const Activation a = activation_of(activation, fn);
      if (k > 1 && a != net.activation) not_recognised("mixed activations");
      net.activation = a;
    }
  }
  const int64_t n_feat = static_cast<int64_t>(order.size());
  const auto mean = tensor_attr(module, "feature_mean").to(torch::kFloat64);
  const auto scale = tensor_attr(module, "feature_scale").to(torch::kFloat64);
  auto &w1 = net.weight[0];
  if (w1.dim() != 2 || w1.size(1) != n_feat || mean.numel() != n_feat || scale.numel() != n_feat)
    not_recognised("the first layer or the feature statistics do not match the descriptor");
  if (net.weight.back().size(0) != 1) not_recognised("the last layer has more than one output");
  // W (x - m) / s + b over features in column_order: columns picked and divided once
  const auto idx = torch::tensor(order, torch::kInt64);
  const auto s = scale.index_select(0, idx), m = mean.index_select(0, idx);
  w1 = w1.index_select(1, idx) / s.unsqueeze(0);
  net.bias[0] = net.bias[0] - torch::mv(w1, m);
  for (auto &w : net.weight) w = w.to(dtype).contiguous();
  for (auto &b : net.bias) b = b.to(dtype).unsqueeze(1).contiguous();

  const auto shift = tensor_attr(module, "energy_shift").to(torch::kFloat64);
  const auto coef = tensor_attr(module, "magnitude_coef").to(torch::kFloat64);
  const auto escale = tensor_attr(module, "energy_scale").to(torch::kFloat64);
  if (shift.numel() != 1 || coef.numel() != 1 || escale.numel() != 1) not_recognised("energy parameters of one species");
  net.energy_shift = shift.item<double>();
  net.magnitude_coef = coef.item<double>();
  net.energy_scale = escale.item<double>();
  return net;
}

template <typename T> class NativeLattice : public NativeLatticeModel {
 public:
  NativeLattice(const LatticeTables &tables, Network net, torch::Dtype dtype)
      : kernel_(tables), net_(std::move(net)), dtype_(dtype)
  {
  }

  void evaluate(const ModelInputs &in, std::vector<double> &energy, std::vector<double> &spin_grad,
                ModelTimings &timings) override
  {
    const int64_t n = in.n_local, n_atoms = in.n_atoms, nf = kernel_.n_features();
    for (int64_t k = 0; k < n; k++)
      if (in.types[k] != 0) throw Error("mlspin model: a type index is outside 0..0");
    auto start = Clock::now();
    // the descriptor on LibTorch's intra-op threads (pair_style mlspin threads N)
    kernel_.set_parallel(at::get_num_threads(), [](int64_t parts, const std::function<void(int64_t)> &task) {
      at::parallel_for(0, parts, 1, [&](int64_t begin, int64_t end) {
        for (int64_t p = begin; p < end; p++) task(p);
      });
    });
    kernel_.place(n_atoms, n, in.n_edges, in.edge_index, in.edge_vec);
    spin_.assign(in.spin, in.spin + 3 * n_atoms);    // in the model's dtype
    grad_.assign(3 * n_atoms, T(0));
    energy.resize(n);
    double t_forward = seconds_since(start), t_backward = 0.0;

    // Slices of centers: their features (about 4 MiB) stay in the cache between the
    // descriptor and the network. Smaller slices make the descriptor faster, but the
    // matrix products slower (BLAS packs the weights once per product): 4 MiB was
    // the best total for the shipped models (1928 and 745 features) on one core.
    const int64_t slice = std::max<int64_t>(16, std::min<int64_t>(1024, (int64_t(4) << 20) / (sizeof(T) * nf)));
    features_.resize(nf * std::min(slice, std::max<int64_t>(n, 1)));
    for (int64_t first = 0; first < n; first += slice) {
      const int64_t count = std::min(slice, n - first);
      start = Clock::now();
      kernel_.forward(spin_.data(), first, count, features_.data());
      timings.descriptor_forward += seconds_since(start);
      const torch::Tensor h = network(first, count, energy.data() + first);
      t_forward += seconds_since(start);

      start = Clock::now();
      const auto seed = torch::full({count}, net_.energy_scale, torch::TensorOptions().dtype(dtype_));
      const T *grad_features = feature_gradient(h, seed, count);
      const auto mid = Clock::now();
      kernel_.backward(spin_.data(), first, count, grad_features, grad_.data());
      timings.descriptor_backward += seconds_since(mid);
      t_backward += seconds_since(start);
    }

    start = Clock::now();
    // d c (|S|^2 - 1) / dS for the centers
    const T c = static_cast<T>(net_.magnitude_coef);
    for (int64_t k = 0; k < 3 * n; k++) grad_[k] += T(2) * c * spin_[k];
    spin_grad.assign(grad_.begin(), grad_.end());
    timings.forward += t_forward;
    timings.backward += t_backward + seconds_since(start);
  }

  bool set_bf16(bool on, std::string &why) override
  {
    bf16_ = false;
    why.clear();
    if (!on) return false;
    if constexpr (!std::is_same_v<T, float>) {
      why = "the model is float64 (bf16 applies to float32 models; mlspin-train convert --float32)";
      return false;
    } else {
      if (!bf16::supported()) {
        why = "the CPU has no AVX512-BF16";
        return false;
      }
      if (net_.weight.size() < 2) {
        why = "the network has a single layer";
        return false;
      }
      const torch::Tensor w = net_.weight[0].contiguous(), wt = net_.weight[0].t().contiguous();
      w1_ = bf16::PairedRows(w.data_ptr<float>(), w.size(0), w.size(1), w.size(1));
      w1t_ = bf16::PairedRows(wt.data_ptr<float>(), wt.size(0), wt.size(1), wt.size(1));
      const torch::Tensor b = net_.bias[0].contiguous();
      b1_.assign(b.data_ptr<float>(), b.data_ptr<float>() + b.numel());
      bf16_ = true;
      return true;
    }
  }

 private:
  // the first layer's output (bias + W1 x) of the features of `count` centers, in
  // bfloat16 (float models only): a leaf of the network's graph
  torch::Tensor first_layer_bf16(int64_t count)
  {
    if constexpr (std::is_same_v<T, float>) {
      const int64_t nf = kernel_.n_features(), m = w1_.rows();
      const int64_t stride = bf16::pack_columns(features_.data(), nf, count, count, packed_);
      h1_.resize(m * count);
      bf16::multiply(w1_, packed_.data(), count, stride, b1_.data(), h1_.data(), count);
      first_ = torch::from_blob(h1_.data(), {m, count}, torch::TensorOptions().dtype(dtype_));
      return first_.requires_grad_(true);
    } else {
      throw Error("mlspin model: bfloat16 path of a float64 model");
    }
  }

  // dE/d(features) of the slice (layout [n_features][count]), from the network's output h
  const T *feature_gradient(const torch::Tensor &h, const torch::Tensor &seed, int64_t count)
  {
    if constexpr (std::is_same_v<T, float>) {
      if (bf16_) {
        // dE/dh1 by autograd, then W1^T dE/dh1 in bfloat16
        const torch::Tensor g1 = torch::autograd::grad({h}, {first_}, {seed}, false, false)[0].contiguous();
        const int64_t stride = bf16::pack_columns(g1.data_ptr<float>(), w1_.rows(), count, count, packed_);
        grad_features_.resize(kernel_.n_features() * count);
        bf16::multiply(w1t_, packed_.data(), count, stride, nullptr, grad_features_.data(), count);
        return grad_features_.data();
      }
    }
    gx_ = torch::autograd::grad({h}, {x_}, {seed}, false, false)[0].contiguous();
    return gx_.data_ptr<T>();
  }

  // The network on the features of centers first..first+count-1 (features_), with
  // autograd from the features (x_) or, in bfloat16, from the first layer's output
  // (first_) on; their energies to `energy`. Returns h[0] (the network's output, with
  // its graph).
  torch::Tensor network(int64_t first, int64_t count, double *energy)
  {
    const int64_t nf = kernel_.n_features();
    torch::Tensor h;
    size_t k0 = 0;
    if (bf16_) {
      h = activate(net_.activation, first_layer_bf16(count));
      k0 = 1;
    } else {
      x_ = torch::from_blob(features_.data(), {nf, count}, torch::TensorOptions().dtype(dtype_));
      x_.requires_grad_(true);
      h = x_;
    }
    for (size_t k = k0; k < net_.weight.size(); k++) {
      h = torch::addmm(net_.bias[k], net_.weight[k], h);
      if (k + 1 < net_.weight.size()) h = activate(net_.activation, h);
    }
    h = h[0];
    // e = h * energy_scale + energy_shift + c (|S|^2 - 1), in the model's dtype
    const auto e = (h.detach() * net_.energy_scale + net_.energy_shift).contiguous();
    const T *ev = e.data_ptr<T>();
    const T c = static_cast<T>(net_.magnitude_coef);
    for (int64_t k = 0; k < count; k++) {
      const T *s = spin_.data() + 3 * (first + k);
      const T length2 = s[0] * s[0] + s[1] * s[1] + s[2] * s[2];
      energy[k] = static_cast<double>(ev[k] + c * (length2 - T(1)));
    }
    return h;
  }

 private:
  LatticeDescriptorKernel<T> kernel_;
  Network net_;
  torch::Dtype dtype_;
  std::vector<T> spin_, grad_, features_;
  torch::Tensor x_;     // features_ as the leaf of the network's graph
  torch::Tensor gx_;    // dE/d(features) from autograd
  // bfloat16 first layer (set_bf16): W1 and W1^T as pairs, its bias, the packed
  // operand, the layer's output (the graph's leaf first_) and dE/d(features)
  bool bf16_ = false;
  bf16::PairedRows w1_, w1t_;
  std::vector<float> b1_, h1_, grad_features_;
  std::vector<uint32_t> packed_;
  torch::Tensor first_;
};

}    // namespace

std::unique_ptr<NativeLatticeModel> NativeLatticeModel::create(const torch::jit::Module &module,
                                                               const std::string &metadata, std::string &reason)
{
  try {
    const auto meta = nlohmann::json::parse(metadata);
    const auto descriptor = meta.value("descriptor", nlohmann::json::object());
    if (!descriptor.is_object() || descriptor.value("kind", std::string()) != "lattice")
      not_recognised("the metadata has no lattice descriptor");
    if (meta.value("species", nlohmann::json::array()).size() != 1) not_recognised("the model has more than one species");
    const auto model = meta.value("model", nlohmann::json::object());
    const std::string activation = model.is_object() ? model.value("activation", std::string("silu")) : "silu";
    const std::string dtype_name = meta.value("dtype", std::string());
    const torch::Dtype dtype = dtype_name == "float32" ? torch::kFloat32 : torch::kFloat64;
    if (!ends_with(type_name(module), ".MLSpinModel")) not_recognised("the module is " + type_name(module));
    if (int_attr(module, "n_species") != 1) not_recognised("the module has more than one species");
    if (attribute(module, "uses_positions").toBool()) not_recognised("the model uses positions");

    const auto descriptor_module = attribute(module, "descriptor").toModule();
    const LatticeTables tables = read_tables(descriptor_module);
    const Network net = read_network(module, ints(descriptor_module, "column_order"), activation, dtype);
    reason.clear();
    if (dtype == torch::kFloat32) return std::make_unique<NativeLattice<float>>(tables, net, dtype);
    return std::make_unique<NativeLattice<double>>(tables, net, dtype);
  } catch (const NotRecognised &e) {
    reason = e.why;
  } catch (const Error &e) {
    reason = e.what();
  } catch (const nlohmann::json::exception &e) {
    reason = std::string("metadata: ") + e.what();
  } catch (const c10::Error &e) {
    reason = e.what_without_backtrace();
  }
  return nullptr;
}

}    // namespace mlspin
