// defines: the implementation of rdp_accountant.hpp
#include "privacy/rdp_accountant.hpp"

#include <algorithm>
#include <cmath>
#include <limits>
#include <stdexcept>
#include <string>

namespace ferret {
namespace {

constexpr double kInf = std::numeric_limits<double>::infinity();

// log(e^a + e^b) and log C(n, k) for real n, without overflow.
double log_add(double a, double b) {
  if (a == -kInf) return b;
  if (b == -kInf) return a;
  const double hi = std::max(a, b), lo = std::min(a, b);
  return hi + std::log1p(std::exp(lo - hi));
}

double log_comb(double n, double k) { return std::lgamma(n + 1) - std::lgamma(k + 1) - std::lgamma(n - k + 1); }

// log(erfc(x)), accurate in the far tail where erfc underflows (asymptotic series at infinity).
double log_erfc(double x) {
  const double r = std::erfc(x);
  if (r > 1e-300) return std::log(r);
  const double x2 = x * x;
  return -0.5 * std::log(M_PI) - std::log(x) - x2 - 0.5 / x2 + 0.625 / (x2 * x2) - 37.0 / 24.0 / (x2 * x2 * x2) +
         353.0 / 64.0 / (x2 * x2 * x2 * x2);
}

// log A_α for integer α: Σ_i C(α, i) q^i (1 − q)^(α−i) exp((i² − i) / 2z²).
double log_a_integer(double q, double z, int alpha) {
  double log_a = -kInf;
  for (int i = 0; i <= alpha; ++i)
    log_a = log_add(log_a, log_comb(alpha, i) + i * std::log(q) + (alpha - i) * std::log1p(-q) +
                               (static_cast<double>(i) * i - i) / (2 * z * z));
  return log_a;
}

// log A_α for fractional α: the integrals below and above z0 = z² log(1/q − 1) + 1/2 as series,
// summed until both terms fall and are 30 nats below the total (at most 1000 terms, else +∞:
// that order is then left out of the minimum, as dp-accounting does).
double log_a_fractional(double q, double z, double alpha) {
  double log_a0 = -kInf, log_a1 = -kInf, last0 = -kInf, last1 = -kInf;
  const double z0 = z * z * std::log(1 / q - 1) + 0.5;
  for (int i = 0; i < 1000; ++i) {
    const double coef = log_comb(alpha, i), j = alpha - i;
    const double s0 = coef + i * std::log(q) + j * std::log1p(-q) + (static_cast<double>(i) * i - i) / (2 * z * z) +
                      std::log(0.5) + log_erfc((i - z0) / (std::sqrt(2.0) * z));
    const double s1 = coef + j * std::log(q) + i * std::log1p(-q) + (j * j - j) / (2 * z * z) + std::log(0.5) +
                      log_erfc((z0 - j) / (std::sqrt(2.0) * z));
    log_a0 = log_add(log_a0, s0);
    log_a1 = log_add(log_a1, s1);
    const double total = log_add(log_a0, log_a1);
    if (s0 < last0 && s1 < last1 && std::max(s0, s1) < total - 30) return total;
    last0 = s0, last1 = s1;
  }
  return kInf;
}

}  // namespace

double sampled_gaussian_rdp(double q, double z, double alpha) {
  if (!(q >= 0 && q <= 1) || !(z >= 0) || !(alpha > 1))
    throw std::invalid_argument("sampled_gaussian_rdp: q " + std::to_string(q) + ", z " + std::to_string(z) +
                                ", order " + std::to_string(alpha) + " (allowed: q in [0, 1], z >= 0, order > 1)");
  if (q == 0) return 0;
  if (z == 0 || std::isinf(alpha)) return kInf;
  if (q == 1) return alpha / (2 * z * z);
  const double log_a = alpha == std::floor(alpha) ? log_a_integer(q, z, static_cast<int>(alpha)) : log_a_fractional(q, z, alpha);
  return log_a / (alpha - 1);
}

double epsilon_from_rdp(std::span<const double> orders, std::span<const double> rdp, double delta) {
  if (!(delta > 0 && delta < 1)) throw std::invalid_argument("epsilon_from_rdp: delta " + std::to_string(delta) + " (allowed: (0, 1))");
  double best = kInf;
  for (size_t i = 0; i < orders.size(); ++i) {
    const double a = orders[i], r = rdp[i];
    double eps = kInf;
    if (delta * delta + std::expm1(-r) > 0) eps = 0;  // small divergence: δ ≥ sqrt(1 − exp(−KL)) already
    else if (a > 1.01) eps = r + std::log1p(-1 / a) - std::log(delta * a) / (a - 1);
    best = std::min(best, eps);
  }
  return std::max(0.0, best);
}

RdpAccountant::RdpAccountant() {
  for (int x = 1; x < 100; ++x) orders_.push_back(1 + x / 10.0);
  for (int a = 11; a < 64; ++a) orders_.push_back(a);
  for (double a : {128.0, 256.0, 512.0, 1024.0}) orders_.push_back(a);
  rdp_.assign(orders_.size(), 0.0);
}

void RdpAccountant::compose(double q, double z, int rounds) {
  for (size_t i = 0; i < orders_.size(); ++i) rdp_[i] += rounds * sampled_gaussian_rdp(q, z, orders_[i]);
}

double RdpAccountant::epsilon(double delta) const { return epsilon_from_rdp(orders_, rdp_, delta); }

double RdpAccountant::epsilon_after(double q, double z, double delta) const {
  RdpAccountant next = *this;
  next.compose(q, z);
  return next.epsilon(delta);
}

void RdpAccountant::set_rdp(std::span<const double> rdp) {
  if (rdp.size() != orders_.size())
    throw std::invalid_argument("RdpAccountant: " + std::to_string(rdp.size()) + " RDP values, expected " +
                                std::to_string(orders_.size()) + " (one per order)");
  for (double r : rdp)
    if (!(r >= 0)) throw std::invalid_argument("RdpAccountant: a negative or NaN RDP value " + std::to_string(r));
  rdp_.assign(rdp.begin(), rdp.end());
}

}  // namespace ferret
