#!/usr/bin/env python3
"""numpy reference for the kit's statistical linear algebra (Debian's python3-numpy), paired with
tests/bench/linalg_bench.ts: the same algebra at the same sizes, in ms per call (median of 5 blocks).

  exact_critic  P4L's exact critic at N = 60, T = 200 (n = 12,000 rows, x of width X = 51 =
                17 RBF features x (1 + 2 latents), A = 2 actions, P = X A = 102): per action
                G_a = X_a^T X_a, X_a^T W_a and X_a^T R_a; then G^-1 C, M = C^T G^-1 C, the solve
  fqi_backup    one FQI backup at the same n with D = 17 features: targets, then per action a
                solve with the pre-factored Gram

Run: /usr/bin/python3 tests/bench/numpy_ref.py   (OPENBLAS_CORETYPE as for the kit; see BENCHMARKS.md)
"""
import json, statistics, sys, time
import numpy as np

rng = np.random.default_rng(0)
n, X, A, gamma, lam = 12000, 51, 2, 0.8, 20.0
P = X * A
x = rng.standard_normal((n, X)); xn = gamma * rng.standard_normal((n, X))
pin = rng.random((n, A)); pin /= pin.sum(1, keepdims=True)
acts = rng.integers(0, A, n); r = rng.standard_normal(n); vdir = rng.standard_normal(P)

def exact_critic():
    C = np.zeros((P, P)); b = np.zeros(P); solvers = []
    for a in range(A):
        rows = acts == a
        xa = x[rows]
        wa = -(xn[rows][:, :, None] * pin[rows][:, None, :]).reshape(-1, P)
        wa[:, a::A] += xa
        g = xa.T @ xa / n
        C[a::A, :] = xa.T @ wa / n
        b[a::A] = xa.T @ r[rows] / n
        solvers.append(np.linalg.cholesky(g + (1e-6 + 1e-3 * np.trace(g) / X) * np.eye(X)))
    def ginv(v):
        out = np.empty_like(v)
        for a in range(A):
            L = solvers[a]
            out[a::A] = np.linalg.solve(L.T, np.linalg.solve(L, v[a::A]))
        return out
    GC = ginv(C); Gb = ginv(b)
    M = C.T @ GC; rhs = C.T @ Gb - (1 - gamma) * vdir / lam
    return np.linalg.solve(M + 1e-8 * np.eye(P), rhs)

D = 17
phi = rng.standard_normal((n, D)); phin = rng.standard_normal((n, D)); w = rng.standard_normal((A, D)) * 0.1
grams = [np.linalg.cholesky(phi[acts == a].T @ phi[acts == a] + 1e-3 * np.eye(D)) for a in range(A)]
def fqi_backup():
    target = r + gamma * (phin @ w.T).max(1)
    out = np.empty_like(w)
    for a in range(A):
        rows = acts == a; L = grams[a]
        out[a] = np.linalg.solve(L.T, np.linalg.solve(L, phi[rows].T @ target[rows]))
    return out

def bench(f, reps=20):
    for _ in range(3): f()
    blocks = []
    for _ in range(5):
        t = time.perf_counter()
        for _ in range(reps): f()
        blocks.append((time.perf_counter() - t) / reps * 1000)
    return statistics.median(blocks)

res = {"exact_critic": bench(exact_critic, 10), "fqi_backup": bench(fqi_backup, 50)}
if "--json" in sys.argv: print(json.dumps(res))
else:
    for k, v in res.items(): print(f"{k:14s} {v:8.3f} ms")
