// Oracle helper: reads lines "q z rounds delta" on stdin and prints, for each, ε of `rounds` rounds of
// the Poisson-subsampled Gaussian mechanism at δ from ferret's RdpAccountant (privacy/), with 17
// significant digits, for tests/oracle/test_privacy_oracle.py to compare with dp-accounting.
#include <cstdio>
#include <iostream>

#include "privacy/rdp_accountant.hpp"

int main() {
  double q = 0, z = 0, delta = 0;
  int rounds = 0;
  while (std::cin >> q >> z >> rounds >> delta) {
    ferret::RdpAccountant accountant;
    accountant.compose(q, z, rounds);
    std::printf("%.17g\n", accountant.epsilon(delta));
  }
  return 0;
}
