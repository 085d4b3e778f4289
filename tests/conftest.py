"""Shared test settings: property tests are derandomised (same examples every run) and untimed;
one folder of chapter results per session, shared by the chapter harness and the cross-machine check."""

import pytest
from hypothesis import HealthCheck, settings

settings.register_profile(
    "scalingbook",
    derandomize=True,  # identical examples run to run: CI is reproducible
    deadline=None,  # no per-example time limit: speed goals live in benchmarks/, not in tests
    suppress_health_check=[HealthCheck.too_slow],
)
settings.load_profile("scalingbook")


@pytest.fixture(scope="session")
def results(tmp_path_factory):
    """Where the chapter harness writes <chapter>.json (quick mode, this machine's default BLAS)."""
    return tmp_path_factory.mktemp("chapter-results")
