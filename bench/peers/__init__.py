"""One module per peer, each with ``fit(dataset, chains, warmup, draws, seed, monitor=None) -> dict``.

Common keys of the returned dict: first_s (wall time of the first call, compile included),
second_s (wall time of the second call: same structure, new prior values), sampling_s (the
sampler's own time in the second call), min_ess_bulk (+ min_ess_where), divergences (second
call), note (what "second call" meant for this peer).
"""

PEERS = ("hiermod", "pymc", "nutpie", "stan")


def load(name: str):
    import importlib

    module = {"hiermod": "hiermod_peer", "pymc": "pymc_peer", "nutpie": "nutpie_peer",
              "stan": "stan_peer", "hiermod_exact": "hiermod_peer"}[name]
    return importlib.import_module(f"peers.{module}")
