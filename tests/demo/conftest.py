"""The demo fixtures (`demo_engine`, `demo_report`) live in tests/conftest.py: the API tests
use the demo data too."""

from tests.conftest import DEMO_AS_OF as AS_OF

__all__ = ["AS_OF"]
