"""The fuzz suite's profiles and its shared app.

Profiles (hypothesis): ``ci`` (the default) runs ``FUZZ_CI_EXAMPLES`` examples per
fuzz test, derandomized so CI is repeatable; ``TRYGGHETSKARTAN_FUZZ_EXAMPLES=N`` (what
``./dev.sh fuzz`` sets, 10 000 by default) spreads N examples over the collected fuzz
tests, with a random seed. Figures of both runs are in ``tests/fuzz/README.md``.

One app and store per module: building an app per example would cost more than
the example. A fuzz test therefore checks each answer against the store as it was
just before that request (:meth:`Fuzzer.state`), never against an empty store.
"""

from __future__ import annotations

import os
from pathlib import Path

import pytest
from hypothesis import HealthCheck, settings

from fuzz.fuzzkit import Fuzzer, admin_app

#: Examples per fuzz test in CI (figures in tests/fuzz/README.md).
FUZZ_CI_EXAMPLES = 250
#: The @given tests of this folder: a long run shares its examples among them.
FUZZ_TESTS = 9
_COMMON = {"deadline": None, "print_blob": True,
           "suppress_health_check": [HealthCheck.too_slow, HealthCheck.data_too_large,
                                     HealthCheck.filter_too_much]}
settings.register_profile("ci", max_examples=FUZZ_CI_EXAMPLES, derandomize=True,
                          database=None, **_COMMON)
_TOTAL = os.environ.get("TRYGGHETSKARTAN_FUZZ_EXAMPLES")
if _TOTAL:
    # hypothesis reads the profile when the tests are defined: choose it here
    settings.register_profile("long", max_examples=max(1, -(-int(_TOTAL) // FUZZ_TESTS)),
                              derandomize=False, **_COMMON)
    settings.load_profile("long")
else:
    settings.load_profile("ci")


def pytest_collection_modifyitems(config, items) -> None:
    """Refuse to run when FUZZ_TESTS is too small (a long run would do more examples)."""
    here = Path(__file__).parent
    names = sorted({i.originalname for i in items if Path(str(i.fspath)).parent == here
                    and getattr(getattr(i, "obj", None), "is_hypothesis_test", False)})
    if len(names) > FUZZ_TESTS:
        raise pytest.UsageError(f"tests/fuzz has {len(names)} fuzz tests; set FUZZ_TESTS in "
                                f"tests/fuzz/conftest.py to that ({names})")


@pytest.fixture(scope="module")
def fuzzer(tmp_path_factory: pytest.TempPathFactory, reference_store_file: Path):
    data_dir = tmp_path_factory.mktemp("fuzz-data")
    app, client, headers, csrf = admin_app(data_dir, reference_store_file)
    fuzzer = Fuzzer(app, data_dir, client, headers, csrf)
    yield fuzzer
    if fuzzer.examples:
        print("\nfuzz examples per route:", dict(sorted(fuzzer.examples.items())))
